"""The rag lab, proven end to end on real sandboxes.

- the data is what build/build.py generates, byte for byte; the shipped passage
  embeddings are what minilm.py computes; minilm.py reproduces sentence-transformers'
  published similarities for all-MiniLM-L6-v2;
- the bars in checks.toml are exactly the grader's baselines plus the stated margins;
- hidden labels never enter the sandbox, and hidden queries never appear in public files;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and four plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong one.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from graders import grade, load_lab
from graders.checks import evaluate
from graders.labspec import CheckSpec

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "rag"
WRONG_DIR = Path(__file__).resolve().parent / "rag"
BUILD_DIR = LAB_DIR / "checks" / "build"
DRIVER_DIR = LAB_DIR / "checks" / "driver"

RANKING = {"recall_at_10", "ndcg_at_10", "identifiers", "paraphrases", "long_passages"}
ALL_CHECKS = RANKING | {"answers_every_query", "build_time", "latency"}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # dense only, the shipped embeddings: misses identifiers and the end of long passages
    "starter": {"recall_at_10", "ndcg_at_10", "identifiers", "long_passages"},
    "wrong_bm25_only": {"recall_at_10", "ndcg_at_10", "paraphrases", "long_passages"},
    # BM25's raw scores drown the cosine similarities: BM25's ranking with noise
    "wrong_raw_score_sum": {"recall_at_10", "ndcg_at_10", "paraphrases", "long_passages"},
    # RRF over every BM25 match: incidental matches outvote the semantic hit, and
    # passages high in both mediocre lists push exact identifier hits down
    "wrong_rrf_deep_lists": {"recall_at_10", "ndcg_at_10", "identifiers", "paraphrases", "long_passages"},
    # an off-by-one drops the last window: long passages lose their end
    "wrong_chunk_drops_tail": {"long_passages"},
}

PUBLIC_TESTS = {
    "test_search_returns_valid_ids",
    "test_identifier_questions",
    "test_paraphrased_questions",
    "test_long_passages",
    "test_recall_beats_both_baselines",
    "test_ndcg_beats_both_baselines",
    "test_index_builds_within_limit",
    "test_query_latency_within_limit",
}
OVERALL = {"test_recall_beats_both_baselines", "test_ndcg_beats_both_baselines"}
PUBLIC_FAILURES = {
    "starter": OVERALL | {"test_identifier_questions", "test_long_passages"},
    "wrong_bm25_only": OVERALL | {"test_paraphrased_questions", "test_long_passages"},
    "wrong_raw_score_sum": OVERALL | {"test_paraphrased_questions", "test_long_passages"},
    "wrong_rrf_deep_lists": OVERALL | {"test_paraphrased_questions", "test_long_passages"},
    "wrong_chunk_drops_tail": {"test_long_passages"},
}

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def build():
    """labs/rag/checks/build/build.py (with generate.py, baselines.py) and the starter's minilm."""
    for folder in (BUILD_DIR, LAB_DIR / "starter"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    return importlib.import_module("build")


@pytest.fixture(scope="module")
def minilm(build):
    return importlib.import_module("minilm")


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# -- the lab as data ----------------------------------------------------------------------------


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "rag"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == ("retriever.py",)
    for check in lab.checks:
        assert check.explain, check.id
        if check.id in RANKING:
            assert check.kind == "ranking" and check.observe == "rankings", check.id
            assert (lab.expected_dir / check.expected).is_file(), check.id
    # The learner gets the same encoder the driver hands out and the data was embedded with.
    assert (LAB_DIR / "starter" / "minilm.py").read_bytes() == (DRIVER_DIR / "minilm.py").read_bytes()


def test_thresholds_are_the_baselines_plus_the_stated_margins(lab, build):
    hidden = json.loads((lab.expected_dir / "baselines.json").read_text())
    bars = hidden["bars"]
    assert bars == build.bars(hidden["scores"])
    thresholds = {c.id: c.threshold for c in lab.checks}
    assert thresholds["recall_at_10"] == bars["all"]["recall"]
    assert thresholds["ndcg_at_10"] == bars["all"]["ndcg"]
    assert thresholds["identifiers"] == bars["identifiers"]["recall"]
    assert thresholds["paraphrases"] == bars["paraphrases"]["recall"]
    assert thresholds["long_passages"] == bars["long"]["recall"]
    assert thresholds["answers_every_query"] == hidden["queries"]
    # The baselines quoted to the learner (checks.toml, brief.md) are the computed ones.
    quoted = (LAB_DIR / "checks" / "checks.toml").read_text() + (LAB_DIR / "brief.md").read_text()
    for subset in ("all", "identifiers", "paraphrases", "long"):
        for name in ("bm25", "dense"):
            assert f"{hidden['scores'][subset][name]['recall']:.3f}" in quoted, (subset, name)
    # The margins are stated where the learner reads them.
    brief = (LAB_DIR / "brief.md").read_text()
    for margin in (build.MARGIN, build.IDENTIFIER_SLACK, build.PARAPHRASE_SLACK, build.LONG_MARGIN):
        assert f"{margin:.2f}" in brief, margin


def test_generated_data_is_what_ships(build):
    """build.py regenerates every shipped file byte for byte (embeddings aside, see below)."""
    embeddings = np.load(LAB_DIR / "data" / "passage_embeddings.npy", allow_pickle=False)
    assert (DRIVER_DIR / "data" / "passage_embeddings.npy").read_bytes() == \
        (LAB_DIR / "data" / "passage_embeddings.npy").read_bytes()
    for path, blob in build.outputs(embeddings).items():
        assert path.read_bytes() == blob, f"{path} differs from what build.py generates: run it"


def test_corpus_and_labels(build):
    generate = build.generate
    corpus = generate.build()
    assert generate.check(corpus) == []
    passages = read_jsonl(LAB_DIR / "data" / "corpus.jsonl.gz")
    assert len(passages) >= 2000 and len({p["id"] for p in passages}) == len(passages)
    public = read_jsonl(LAB_DIR / "data" / "queries_public.jsonl")
    hidden = json.loads((LAB_DIR / "checks" / "expected" / "qrels_all.json").read_text())
    assert len(public) + len(hidden) >= 150 and len(hidden) >= 100
    ids = {p["id"] for p in passages}
    for q in public:
        assert set(q["relevant"]) <= ids
    for labels in hidden.values():
        assert labels and set(labels) <= ids
    # The subsets partition the hidden queries.
    subsets = [json.loads((LAB_DIR / "checks" / "expected" / f"qrels_{s}.json").read_text())
               for s in ("identifiers", "paraphrases", "long")]
    assert sorted(q for s in subsets for q in s) == sorted(hidden)
    # Long passages really are longer than MiniLM's window, with their subject past it.
    long_ids = {pid for labels in subsets[2].values() for pid in labels}
    window = build.minilm.MAX_TOKENS - 2
    for p in passages:
        if p["id"] in long_ids:
            head = p["text"].split(generate.SPECIAL_HEADER)[0]
            assert build.minilm.count_tokens(f"{p['title']}\n{head}") > window, p["id"]


def test_hidden_labels_never_enter_the_sandbox():
    shipped = read_jsonl(DRIVER_DIR / "data" / "queries_hidden.jsonl")
    assert all(set(q) == {"id", "text"} for q in shipped)
    hidden = json.loads((LAB_DIR / "checks" / "expected" / "qrels_all.json").read_text())
    assert [q["id"] for q in shipped] == list(hidden)
    assert {p.name for p in DRIVER_DIR.rglob("*") if p.is_file()} == {
        "driver.py", "runner.py", "minilm.py", "corpus.jsonl.gz", "passage_embeddings.npy", "queries_hidden.jsonl"}
    # Hidden query texts appear nowhere a learner can read.
    public_text = "".join(p.read_text() for p in (LAB_DIR / "public_tests").glob("*.py"))
    public_text += (LAB_DIR / "brief.md").read_text() + (LAB_DIR / "data" / "queries_public.jsonl").read_text()
    public_text += "".join(p.read_text() for p in (LAB_DIR / "starter").glob("*.py"))
    for q in shipped:
        assert q["text"] not in public_text, q["text"]


def test_minilm_reproduces_the_sentence_transformers_reference(minilm):
    # sbert.net quickstart, all-MiniLM-L6-v2: model.similarity(...) of these three sentences.
    sentences = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    vecs = minilm.encode(sentences)
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    sims = vecs @ vecs.T
    assert abs(sims[0, 1] - 0.6660) < 5e-4 and abs(sims[0, 2] - 0.1046) < 5e-4 and abs(sims[1, 2] - 0.1411) < 5e-4
    # Padding never changes a text's embedding: alone or in a batch with a longer text.
    alone = minilm.encode([sentences[1]])[0]
    batched = minilm.encode([sentences[1], " ".join(sentences * 8)])[0]
    assert np.abs(alone - batched).max() < 1e-5
    # Truncation at 256 word pieces, as sentence-transformers does.
    long_text = "network " * 400
    assert minilm.count_tokens(long_text) == 400
    assert np.abs(minilm.encode([long_text])[0] - minilm.encode(["network " * 254])[0]).max() < 1e-5


def test_shipped_embeddings_are_what_minilm_computes(minilm, build):
    passages = read_jsonl(LAB_DIR / "data" / "corpus.jsonl.gz")
    shipped = np.load(LAB_DIR / "data" / "passage_embeddings.npy", allow_pickle=False)
    assert shipped.shape == (len(passages), minilm.DIM) and shipped.dtype == np.float16
    rows = [0, 17, 203, 1024, 2049] + [i for i, p in enumerate(passages) if "field service" in p["title"]][:1]
    fresh = minilm.encode([build.embed_text(passages[i]) for i in rows])
    stored = shipped[rows].astype(np.float32)
    assert np.abs(fresh - stored).max() < 2e-3
    assert (np.sum(fresh * stored, axis=1) > 0.9999).all()


def test_ranking_check_kind(tmp_path):
    """The host-side metric the lab relies on (graders.checks.ranking)."""
    (tmp_path / "qrels.json").write_text(json.dumps({"q1": {"a": 1}, "q2": {"b": 1, "c": 1}, "q3": {"d": 2}}))
    observations = {"rankings": {"q1": ["x", "a"], "q2": ["c", "c", 7, "z"], "q4": ["d"]}}

    def check(metric: str, threshold: float) -> CheckSpec:
        return CheckSpec(id="r", name="r", weight=1, kind="ranking", observe="rankings", op=">=",
                         threshold=threshold, expected="qrels.json", metric=metric)

    recall = evaluate(check("recall@10", 0.6), observations, tmp_path)
    assert recall.observed == round((1 + 0.5 + 0) / 3, 4) and recall.status == "fail"  # q3 unanswered
    ndcg = evaluate(check("ndcg@10", 0.3), observations, tmp_path)
    ideal2 = 1 + 1 / np.log2(3)
    assert ndcg.observed == round((1 / np.log2(3) + 1 / ideal2) / 3, 4) and ndcg.status == "pass"
    assert evaluate(check("recall@1", 0.0), observations, tmp_path).observed == round(0.5 / 3, 4)
    assert evaluate(check("mrr@10", 0.0), {"rankings": {"q1": ["x", "a"]}}, tmp_path).observed == round(0.5 / 3, 4)
    assert evaluate(check("recall@10", 0.0), {}, tmp_path).status == "error"


def test_driver_blanks_hidden_questions_out_of_the_log(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "graders" / "harness"))
    spec = importlib.util.spec_from_file_location("rag_driver", DRIVER_DIR / "driver.py")
    driver = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "rag_driver", driver)  # dataclasses look their module up
    spec.loader.exec_module(driver)
    redact = driver.redactor([{"id": "q1", "text": "what does W-1234 mean"}, {"id": "q2", "text": "my cat"}])
    out = redact(b"QUERY: WHAT DOES W-1234 MEAN\nsearching 'my cat' now\nother text")
    assert out == b"QUERY: [hidden question]\nsearching '[hidden question]' now\nother text"


# -- grading on real sandboxes ----------------------------------------------------------------


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
    assert all(c.status == "pass" for c in first.checks)
    assert first.run.wall_seconds < lab.limits.wall_seconds / 2
    assert "index build" in first.run.learner_log and "p95" in first.run.learner_log
    second = grade(lab, submission("solution"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BELOW_BAR))
def test_below_the_bar_with_the_expected_checks_failing(lab, runner, name):
    report = grade(lab, submission(name), runner=runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, runner):
    first = grade(lab, submission("starter"), runner=runner)
    second = grade(lab, submission("starter"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


# -- the public tests, run the way a learner runs them --------------------------------------------


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """retriever.py, the provided minilm.py and public_tests/ side by side; data/ by path."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    shutil.copy2(folder / "retriever.py", work / "retriever.py")
    shutil.copy2(LAB_DIR / "starter" / "minilm.py", work / "minilm.py")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "RETRIEVER_DIR")}
    env.update(ONE_THREAD, RAG_DATA=str(LAB_DIR / "data"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"\b{len(PUBLIC_TESTS)} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout


def test_public_test_names_are_known():
    source = (LAB_DIR / "public_tests" / "test_retriever.py").read_text()
    assert set(re.findall(r"^def (test_\w+)", source, re.MULTILINE)) == PUBLIC_TESTS
    assert tomllib.loads((LAB_DIR / "lab.toml").read_text())["editable"] == ["retriever.py"]


@pytest.mark.slow
def test_a_notebook_of_the_solution_scores_full_marks(lab, runner, tmp_path):
    """The lab takes a notebook in place of retriever.py (lab.toml [notebook])."""
    from lab_notebooks import notebook_of

    from graders import accept_upload

    assert lab.notebook is not None
    folder = tmp_path / "nb"
    accept_upload("rag.ipynb", notebook_of(submission("solution"), lab.notebook.modules), folder, lab.submission)
    report = grade(lab, folder, runner=runner)
    assert report.run.notebook is not None and report.run.notebook["module"] == "retriever.py"
    assert report.score == 1.0, report.to_json(indent=2)

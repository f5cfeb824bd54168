"""The vector-db lab, proven end to end on real sandboxes.

- the lab spec, the driver's constants and the hidden filters agree: thresholds are the
  driver's counts, the public and hidden generators are one file, the hidden filters
  cover every selectivity (none, fewer than k, selective, broad) and every operator, and
  the oracle judges exact answers (ties included) and recall correctly;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and five plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail (wrong_gpu_only: batch search with no CPU
  fallback, which fails here because no GPU exists: a CPU sandbox is what grades it);
- the GPU-optional exercise (batch.py): the reference falls back to numpy and names the
  device it used, and a batch that claims a GPU the sandbox lacks counts nothing;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graders import grade, load_lab

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "vector-db"
DRIVER_DIR = LAB_DIR / "checks" / "driver"
WRONG_DIR = Path(__file__).resolve().parent / "vector-db"

ALL_CHECKS = {"recall", "speedup", "filtered_exact", "shard_merge", "reload", "batch"}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # brute force over one shard, no filters, no persistence, no batch search: exact but slow
    "starter": {"speedup", "filtered_exact", "shard_merge", "reload", "batch"},
    # asks HNSW for 5k candidates, then drops those that do not match the filter
    "wrong_post_filter": {"filtered_exact"},
    # concatenates the shards' answers and keeps the first k, unsorted
    "wrong_concat_merge": {"recall", "filtered_exact", "shard_merge"},
    # never sets ef: hnswlib searches with ef=10
    "wrong_low_ef": {"recall"},
    # save() forgets the metadata: a reloaded store cannot filter
    "wrong_lost_metadata": {"reload"},
    # batch search on CUDA (torch) only: no CPU fallback, so it raises in a CPU sandbox
    "wrong_gpu_only": {"batch"},
}

PUBLIC_TESTS = {
    "test_rows_are_routed_to_shards_by_id",
    "test_exact_search_merges_the_shards_exactly",
    "test_ann_recall_at_10",
    "test_ann_is_faster_than_brute_force",
    "test_filtered_search_is_exact",
    "test_save_and_load_give_the_same_answers",
    "test_search_batch_is_exact_on_this_device",
}

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": {"test_rows_are_routed_to_shards_by_id", "test_ann_is_faster_than_brute_force",
                "test_filtered_search_is_exact", "test_save_and_load_give_the_same_answers",
                "test_search_batch_is_exact_on_this_device"},
    "wrong_post_filter": {"test_filtered_search_is_exact"},
    "wrong_concat_merge": {"test_exact_search_merges_the_shards_exactly", "test_ann_recall_at_10",
                           "test_filtered_search_is_exact"},
    "wrong_low_ef": {"test_ann_recall_at_10"},
    "wrong_lost_metadata": {"test_save_and_load_give_the_same_answers"},
    "wrong_gpu_only": {"test_search_batch_is_exact_on_this_device"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def public_filters() -> list[dict]:
    """PUBLIC_FILTERS of the public tests, read as data (the module needs their conftest)."""
    tree = ast.parse((LAB_DIR / "public_tests" / "test_vectorstore.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PUBLIC_FILTERS")
    return ast.literal_eval(node.value)


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def driver():
    """The driver module, imported on the host for its constants and helpers (not run).

    Importing it sets thread variables and sys.path and imports its siblings: all undone."""
    saved_env, saved_path, saved_modules = dict(os.environ), list(sys.path), set(sys.modules)
    sys.path[:0] = [str(DRIVER_DIR), str(REPO / "graders" / "harness")]
    try:
        module = load_module("vector_db_driver", DRIVER_DIR / "driver.py")
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules - {"vector_db_driver"}:
            del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def dataset():
    return load_module("vector_db_dataset", DRIVER_DIR / "dataset.py")


@pytest.fixture(scope="module")
def hidden(driver):
    ds = driver.World(driver.WORLD_SEED).dataset(driver.N)
    return ds, [int(driver.matches(f, ds.metadata).sum()) for f in driver.FILTERS]


def test_lab_spec_is_consistent(lab, driver):
    assert lab.slug == "vector-db"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == ("vectorstore.py", "batch.py")
    assert lab.notebook is not None and lab.notebook.modules == lab.editable
    assert (lab.queue, lab.gpu_optional) == ("cpu", True)  # gpu = "optional"
    thresholds = {c.id: c.threshold for c in lab.checks}
    batch = driver.batchcheck  # batchcheck.py, the driver's sibling
    assert thresholds["batch"] == batch.BATCH_QUERIES == 200 and batch.K == driver.K
    assert batch.BATCH_SEED not in (driver.QUERY_SEED, driver.WORLD_SEED)
    assert thresholds["filtered_exact"] == len(driver.FILTERS) == 40
    assert thresholds["shard_merge"] == driver.EXACT_QUERIES
    assert thresholds["reload"] == driver.RELOAD_ANN + driver.EXACT_QUERIES + len(driver.FILTERS)
    assert thresholds["recall"] is True and thresholds["speedup"] is True
    # The bars the brief and the check texts state are the driver's.
    assert (driver.RECALL_BAR, driver.SPEEDUP_BAR, driver.N, driver.K, driver.NUM_SHARDS) == (0.95, 5.0, 100_000, 10, 4)
    brief = lab.brief_path.read_text()
    for text in ("0.95", "5x", "100,000", "384", "i % 4", "search_batch", "SKILLFORGE_DEVICE", "20,000", "200"):
        assert text in brief, text
    # The driver's learner timeouts fit in the sandbox's wall clock, with room.
    timeouts = driver.BUILD_PROCESS_TIMEOUT + driver.RELOAD_PROCESS_TIMEOUT + driver.batchcheck.BATCH_PROCESS_TIMEOUT
    assert timeouts + 30 < lab.limits.wall_seconds


def test_public_and_hidden_data_come_from_one_generator():
    assert (LAB_DIR / "public_tests" / "dataset.py").read_bytes() == (DRIVER_DIR / "dataset.py").read_bytes()


def test_hidden_filters_cover_every_selectivity_and_operator(driver, hidden):
    _, counts = hidden
    k = driver.K
    assert counts.count(0) >= 1
    assert sum(0 < c < k for c in counts) >= 5  # fewer than k rows: all of them, best first
    assert sum(k <= c <= 3000 for c in counts) >= 15  # selective: post-filtering fails
    assert sum(c >= 5000 for c in counts) >= 8  # broad
    ops = {op for f in driver.FILTERS for cond in f.values() if isinstance(cond, dict) for op in cond}
    assert ops == {"$eq", "$in", "$gt", "$gte", "$lt", "$lte"}
    assert any(not isinstance(cond, dict) for f in driver.FILTERS for cond in f.values())
    assert any(len(f) > 1 for f in driver.FILTERS)


def test_public_tests_use_other_seeds_and_filters(driver):
    conftest = (LAB_DIR / "public_tests" / "conftest.py").read_text()
    seed = int(re.search(r"^SEED = (\d+)", conftest, re.MULTILINE).group(1))
    assert seed != driver.WORLD_SEED
    assert not [f for f in public_filters() if f in driver.FILTERS]


def test_oracle_judges_exact_answers_and_recall(driver, dataset):
    oracle_mod = load_module("vector_db_oracle", DRIVER_DIR / "oracle.py")
    world = dataset.World(5)
    ds = world.dataset(3000)
    queries = world.queries(6, seed=1)
    oracle = oracle_mod.Oracle(ds.ids, ds.vectors)
    tiny = dataset.matches({"tenant": 203}, ds.metadata)
    masks = [None, None, tiny, dataset.matches({"tenant": 999}, ds.metadata), ds.ids % 4 == 1, None]
    truths = oracle.top(queries, masks, 10)
    for q, mask, truth in zip(queries, masks, truths, strict=True):
        assert truth.ids == [i for i, _ in dataset.exact_top_k(ds, q, 10, mask)]
        assert oracle.exact(q, truth.ids, truth, mask)
        if mask is None:
            assert oracle.recall(q, truth.ids, truth, 10) == 1.0
            assert oracle.recall(q, truth.ids[:5] * 2, truth, 10) == 0.5  # duplicates count once
    q, truth = queries[0], truths[0]
    assert not oracle.exact(q, truth.ids[::-1], truth)  # not best first
    assert not oracle.exact(q, truth.ids[:9], truth)  # too few
    assert not oracle.exact(q, truth.ids[:9] + [truth.ids[0]], truth)  # a duplicate
    assert not oracle.exact(q, truth.ids[:9] + [12345], truth)  # not in the collection
    eleventh = [i for i, _ in dataset.exact_top_k(ds, q, 11)][-1]
    assert not oracle.exact(q, truth.ids[:9] + [eleventh], truth)
    assert oracle.exact(queries[2], [], truths[2], tiny) is (truths[2].count == 0)
    assert truths[2].count == 4 and len(truths[2].ids) == 4  # tenant 203 holds 4 rows: fewer than k
    assert truths[3].count == 0 and oracle.exact(queries[3], [], truths[3], masks[3])
    outside = next(i for i in truths[0].ids if i % 4 != 1)  # the top k of shard 1 holds only its rows
    assert not oracle.exact(queries[4], truths[4].ids[:9] + [outside], truths[4], masks[4])


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
    assert all(c.status == "pass" for c in first.checks)
    assert first.run.wall_seconds < lab.limits.wall_seconds / 2
    second = grade(lab, submission("solution"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


_reports: dict[tuple[str, object], object] = {}  # (submission, runner) -> its first report


def graded(lab, name: str, runner):
    """Grade once per submission and backend: the determinism test reuses the report."""
    if (name, runner) not in _reports:
        _reports[name, runner] = grade(lab, submission(name), runner=runner)
    return _reports[name, runner]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BELOW_BAR))
def test_below_the_bar_with_the_expected_checks_failing(lab, bwrap_runner, name):
    # One backend for the wrong solutions (each grading takes tens of seconds); the solution,
    # and labcheck in CI, cover Docker.
    report = graded(lab, name, bwrap_runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, bwrap_runner):
    first = graded(lab, "wrong_lost_metadata", bwrap_runner)  # failing checks show counts: 131 of 170
    second = grade(lab, submission("wrong_lost_metadata"), runner=bwrap_runner)
    assert second.canonical_bytes() == first.canonical_bytes()


BROKEN = {
    # does not even import: every check fails with the traceback in the log, no grading error
    "syntax_error": "class VectorStore(:\n",
    # builds, then every search raises: answers count as missing
    "search_raises": (LAB_DIR / "starter" / "vectorstore.py").read_text().replace(
        "        # TODO: scatter to every shard", "        raise RuntimeError('boom')\n        # TODO: scatter to every shard"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_submissions_get_a_report_with_every_check_failing(lab, bwrap_runner, tmp_path, name):
    (tmp_path / "vectorstore.py").write_text(BROKEN[name])
    report = grade(lab, tmp_path, runner=bwrap_runner)
    assert report.run.termination == "ok", report.run
    assert {c.status for c in report.checks} == {"fail"}, report.to_json(indent=2)
    assert ("SyntaxError" if name == "syntax_error" else "RuntimeError: boom") in report.run.learner_log


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: vectorstore.py and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    for name in ("vectorstore.py", "batch.py"):
        shutil.copy2(folder / name, work / name)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VECTORSTORE_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    count = len(PUBLIC_TESTS) - 1 + len(public_filters())  # the filter test runs once per filter
    assert re.search(rf"\b{count} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout


def test_reference_batch_search_falls_back_to_numpy_with_the_same_answers(dataset, monkeypatch):
    """batch.py on this host (no GPU): "auto" runs on the CPU, "cuda" refuses plainly, and every
    path returns the exact top k, best first."""
    batch = load_module("vector_db_batch", LAB_DIR / "solution" / "batch.py")
    world = dataset.World(11)
    vectors, queries = world.dataset(5000).vectors, world.queries(300, seed=2)  # 300: two query chunks
    scores = queries.astype(np.float64) @ vectors.astype(np.float64).T
    truth = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    monkeypatch.setenv("SKILLFORGE_DEVICE", "cpu")
    rows, device = batch.search_batch(vectors, queries, 10)
    assert device == "cpu" and rows.shape == (300, 10)
    assert np.array_equal(rows, truth)
    assert np.array_equal(batch.search_batch(vectors, queries, 10, device="cpu")[0], truth)
    monkeypatch.setenv("SKILLFORGE_DEVICE", "cuda")  # told there is a GPU, but no torch/cupy can use one here
    if batch.gpu_library() is None:
        assert batch.search_batch(vectors, queries, 10)[1] == "cpu"
        with pytest.raises(RuntimeError, match="no GPU"):
            batch.search_batch(vectors, queries, 10, device="cuda")


def test_a_batch_that_claims_a_gpu_the_sandbox_lacks_counts_nothing(driver, monkeypatch):
    batchcheck = driver.batchcheck
    world = driver.World(3)
    work = batchcheck.BatchWork(world, world.dataset(batchcheck.BATCH_ROWS))
    scores = work.queries.astype(np.float64) @ work.ds.vectors.astype(np.float64).T
    work.answers = np.argsort(-scores, axis=1)[:, :driver.K].tolist()
    for sandbox, named, exact in [("cpu", "cpu", 200), ("cpu", "cuda", 0), ("cuda", "cuda", 200), ("cuda", "cpu", 200),
                                  ("cpu", "tpu", 0)]:
        monkeypatch.setenv("SKILLFORGE_DEVICE", sandbox)
        work.device = named
        notes: list[str] = []
        obs = batchcheck.observe_batch(work, notes)
        assert obs == {"batch_exact": exact, "batch_device": f"{named} (sandbox: {sandbox})"}, notes
        assert f"search_batch ran on {named!r}" in notes[0]
    work.answers = [a[::-1] for a in work.answers]  # worst first
    monkeypatch.setenv("SKILLFORGE_DEVICE", "cpu")
    work.device = "cpu"
    assert batchcheck.observe_batch(work, [])["batch_exact"] == 0


def test_explore_script_runs(tmp_path):
    """starter/explore.py, the learner's HNSW-vs-IVF measurement, runs beside public_tests/."""
    shutil.copy2(LAB_DIR / "starter" / "explore.py", tmp_path / "explore.py")
    shutil.copytree(LAB_DIR / "public_tests", tmp_path / "public_tests")
    proc = subprocess.run([sys.executable, "explore.py", "--n", "4000", "--queries", "20"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("brute force", "HNSW M=16", "IVF", "recall@10"):
        assert name in proc.stdout, proc.stdout


def test_dataset_is_deterministic_and_shaped_as_the_brief_says(dataset):
    a, b = dataset.World(3).dataset(2000), dataset.World(3).dataset(2000)
    assert np.array_equal(a.vectors, b.vectors) and np.array_equal(a.ids, b.ids)
    assert all(np.array_equal(a.metadata[f], b.metadata[f]) for f in dataset.FIELDS)
    assert a.vectors.dtype == np.float32 and a.vectors.shape == (2000, dataset.DIM)
    assert np.allclose(np.linalg.norm(a.vectors, axis=1), 1.0, atol=1e-5)
    assert len(set(a.ids.tolist())) == 2000
    rows = a.rows()
    assert set(rows[0]) == set(dataset.FIELDS)
    assert json.loads(json.dumps(rows)) == rows  # plain JSON types: what the runner hands add()


@pytest.mark.slow
def test_a_notebook_of_the_solution_scores_full_marks(lab, bwrap_runner, tmp_path):
    """The lab takes a notebook in place of vectorstore.py (lab.toml [notebook])."""
    from lab_notebooks import notebook_of

    from graders import accept_upload

    assert lab.notebook is not None
    folder = tmp_path / "nb"
    accept_upload("store.ipynb", notebook_of(submission("solution"), lab.notebook.modules), folder, lab.submission)
    report = grade(lab, folder, runner=bwrap_runner)
    assert report.run.notebook is not None and report.run.notebook["status"] == "ok", report.run.notebook
    assert report.score == 1.0, report.to_json(indent=2)

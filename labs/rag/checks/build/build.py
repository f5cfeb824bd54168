"""Build every data file of the rag lab from generate.py, deterministically.

    .venv/bin/python labs/rag/checks/build/build.py            # corpus, queries, labels, baselines
    .venv/bin/python labs/rag/checks/build/build.py --embed    # also recompute passage embeddings (~1 min)

Writes (public = the learner gets it; hidden = host or driver only):

  data/corpus.jsonl.gz               public   passages {id, title, text}
  data/passage_embeddings.npy        public   MiniLM of "title\\ntext", float16, row i = passage i
  data/queries_public.jsonl          public   {id, text, kind, relevant}
  data/baselines_public.json         public   the two baselines on the public queries, and the bars
  checks/driver/data/corpus.jsonl.gz, passage_embeddings.npy   copies the driver hands the learner
  checks/driver/data/queries_hidden.jsonl   texts only {id, text}: no labels enter the sandbox
  checks/expected/qrels_*.json       hidden   {query id: {passage id: gain}} for the ranking checks
  checks/expected/baselines.json     hidden   the two baselines on the hidden queries, and the bars

The bars: hybrid must beat the better baseline by MARGIN on recall@10 and nDCG@10, keep
identifier queries within IDENTIFIER_SLACK of BM25, paraphrased ones within
PARAPHRASE_SLACK of dense, and beat both on long passages by LONG_MARGIN.
tests/labs/test_rag.py checks that checks.toml holds exactly these numbers.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LAB = HERE.parents[1]
sys.path[:0] = [str(HERE), str(LAB / "starter")]

import baselines  # noqa: E402
import generate  # noqa: E402
import minilm  # noqa: E402

DATA = LAB / "data"
DRIVER_DATA = LAB / "checks" / "driver" / "data"
EXPECTED = LAB / "checks" / "expected"

MARGIN = 0.15
IDENTIFIER_SLACK = 0.10
PARAPHRASE_SLACK = 0.15
LONG_MARGIN = 0.40

# check subset -> the query kinds in it
SUBSETS = {
    "all": ("keyword", "paraphrase", "product", "long"),
    "identifiers": ("keyword",),
    "paraphrases": ("paraphrase", "product"),
    "long": ("long",),
}


def embed_text(p: dict) -> str:
    """What the shipped embedding of a passage encodes (MiniLM keeps the first 256 tokens)."""
    return p["title"] + "\n" + p["text"]


def corpus_bytes(passages: list[dict]) -> bytes:
    raw = "".join(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n" for p in passages).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    return buf.getvalue()


def load_corpus(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def dumps(doc: object) -> bytes:
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def qrels(queries: list[generate.Query], split: str, subset: str) -> dict[str, dict[str, int]]:
    return {q.id: dict(q.relevant) for q in queries if q.split == split and q.kind in SUBSETS[subset]}


def bars(scores: dict) -> dict[str, dict[str, float]]:
    """The thresholds, from the baselines' scores ({subset: {bm25|dense: {recall, ndcg}}})."""
    def best(subset: str, metric: str) -> float:
        return max(scores[subset]["bm25"][metric], scores[subset]["dense"][metric])
    return {
        "all": {"recall": round(best("all", "recall") + MARGIN, 2), "ndcg": round(best("all", "ndcg") + MARGIN, 2)},
        "identifiers": {"recall": round(scores["identifiers"]["bm25"]["recall"] - IDENTIFIER_SLACK, 2)},
        "paraphrases": {"recall": round(scores["paraphrases"]["dense"]["recall"] - PARAPHRASE_SLACK, 2)},
        "long": {"recall": round(best("long", "recall") + LONG_MARGIN, 2)},
    }


def baseline_scores(passages: list[dict], embeddings: np.ndarray, queries: list[generate.Query],
                    split: str) -> dict:
    chosen = [q for q in queries if q.split == split]
    qs = [{"id": q.id, "text": q.text} for q in chosen]
    q_emb = minilm.encode([q.text for q in chosen])
    runs = {
        "bm25": baselines.bm25_rankings(passages, qs),
        "dense": baselines.dense_rankings(passages, embeddings, qs, q_emb),
    }
    scores = {subset: {name: baselines.evaluate(run, qrels(queries, split, subset)) for name, run in runs.items()}
              for subset in SUBSETS}
    return {"queries": len(chosen), "scores": scores, "bars": bars(scores)}


def outputs(embeddings: np.ndarray) -> dict[Path, bytes]:
    """Every file the build writes, as bytes (tests compare them with what is shipped)."""
    corpus = generate.build()
    problems = generate.check(corpus)
    if problems:
        raise SystemExit("generated data is not usable:\n" + "\n".join(problems))
    passages = [{"id": p.id, "title": p.title, "text": p.text} for p in corpus.passages]
    queries = corpus.queries
    files: dict[Path, bytes] = {}
    corpus_gz = corpus_bytes(passages)
    files[DATA / "corpus.jsonl.gz"] = files[DRIVER_DATA / "corpus.jsonl.gz"] = corpus_gz
    files[DATA / "queries_public.jsonl"] = jsonl([
        {"id": q.id, "text": q.text, "kind": q.kind, "relevant": q.relevant} for q in queries if q.split == "public"])
    files[DRIVER_DATA / "queries_hidden.jsonl"] = jsonl([
        {"id": q.id, "text": q.text} for q in queries if q.split == "hidden"])
    for subset in SUBSETS:
        files[EXPECTED / f"qrels_{subset}.json"] = dumps(qrels(queries, "hidden", subset))
    files[DATA / "baselines_public.json"] = dumps(baseline_scores(passages, embeddings, queries, "public"))
    files[EXPECTED / "baselines.json"] = dumps(baseline_scores(passages, embeddings, queries, "hidden"))
    return files


def compute_embeddings() -> np.ndarray:
    corpus = generate.build()
    texts = [embed_text({"title": p.title, "text": p.text}) for p in corpus.passages]
    return minilm.encode(texts).astype(np.float16)


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embed", action="store_true", help="recompute the passage embeddings (about a minute)")
    args = parser.parse_args()
    emb_path = DATA / "passage_embeddings.npy"
    if args.embed or not emb_path.exists():
        embeddings = compute_embeddings()
        blob = npy_bytes(embeddings)
        for folder in (DATA, DRIVER_DATA):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "passage_embeddings.npy").write_bytes(blob)
    embeddings = np.load(emb_path, allow_pickle=False)
    for path, blob in outputs(embeddings).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
        print(f"wrote {path.relative_to(LAB)} ({len(blob):,} bytes)")
    print(json.dumps(json.loads((EXPECTED / "baselines.json").read_text())["bars"], indent=1))


if __name__ == "__main__":
    main()

"""Why the rag lab ships its passage embeddings: the numpy MiniLM forward pass, timed.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/rag_encoder.py [--sample 200] [--repeat 3]

Encodes a sample of the lab's passages (labs/rag/data/corpus.jsonl.gz) with the lab's
minilm.py, and single queries, and prints passages per second, the extrapolated time to
embed the whole corpus against the lab's 30 s index-build limit, the time the reference
solution spends embedding its extra chunks, and the query latency against the 250 ms p95
limit. Run it with one BLAS thread, as the grader runs learners.

Targets: embedding the whole corpus >= 1.0 x the build limit (so shipping the vectors is
necessary), the solution's chunks <= 0.25 x the limit, a query p95 <= 0.2 x its limit.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = REPO / "labs" / "rag"
sys.path[:0] = [str(LAB / "solution"), str(LAB / "starter")]

import minilm  # noqa: E402
import numpy as np  # noqa: E402

BUILD_LIMIT = 30.0
P95_LIMIT = 0.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=200, help="passages to encode (default 200)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with gzip.open(LAB / "data" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        passages = [json.loads(line) for line in fh]
    texts = [f"{p['title']}\n{p['text']}" for p in passages]
    rng = np.random.default_rng(0)
    sample = [texts[i] for i in rng.choice(len(texts), size=min(args.sample, len(texts)), replace=False)]
    model = minilm.load()
    model.encode(sample[:8])  # warm up

    best = min(_timed(lambda: model.encode(sample)) for _ in range(args.repeat))
    per_second = len(sample) / best
    whole = len(texts) / per_second

    import retriever  # the reference solution: how long do its extra chunks take?

    embeddings = np.load(LAB / "data" / "passage_embeddings.npy").astype(np.float32)
    build = min(_timed(lambda: retriever.Retriever(passages, embeddings)) for _ in range(args.repeat))

    queries = [json.loads(line)["text"] for line in (LAB / "data" / "queries_public.jsonl").open(encoding="utf-8")]
    r = retriever.Retriever(passages, embeddings)
    latencies = sorted(_timed(lambda q=q: r.search(q)) for q in queries * args.repeat)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]

    threads = os.environ.get("OPENBLAS_NUM_THREADS", "(default)")
    print(f"numpy MiniLM, OPENBLAS_NUM_THREADS={threads}, {len(sample)} passages: {per_second:.0f} passages/s")
    print(f"  whole corpus ({len(texts)} passages): {whole:.1f} s = {whole / BUILD_LIMIT:.2f} x the build limit "
          f"(target >= 1.0: the vectors must be shipped)")
    print(f"  reference solution's index build: {build:.2f} s = {build / BUILD_LIMIT:.2f} x the limit (target <= 0.25)")
    print(f"  search p95 over {len(latencies)} queries: {p95 * 1000:.1f} ms = {p95 / P95_LIMIT:.2f} x the limit "
          f"(target <= 0.2)")


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

"""Measure the HNSW-vs-IVF trade-off yourself, on the lab's dataset (not graded).

    python explore.py                  # 100,000 vectors, like the grader (a few minutes)
    python explore.py --n 30000        # quicker
    python explore.py --only ivf       # one family

For each index it prints recall@10 against exact search, CPU time per query (one thread,
one query at a time, like the grader), queries per CPU-second, the build time and the
index size, next to the brute-force numpy baseline the grader uses. The dataset comes
from public_tests/dataset.py (a public seed; the grader's seed and queries are hidden,
but the distribution is the same).

One index over all rows here; your store has four shards, each a quarter of the size,
and asks each of them (so multiply the per-query cost by about 4, and expect a little
more recall at the same ef or nprobe).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, like the grader
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent / "public_tests"))
import dataset  # noqa: E402

K = 10


def cpu_per_query(search, queries: np.ndarray) -> tuple[float, list[np.ndarray]]:
    answers = []
    started = time.process_time()
    for q in queries:
        answers.append(search(q))
    return (time.process_time() - started) / len(queries), answers


def recall(answers: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(a[:K].tolist()) & set(t.tolist())) / K for a, t in zip(answers, truth, strict=True)]))


def row(name: str, rec: float, cpu: float, base: float, build: float, size: int) -> None:
    print(f"{name:<34} recall@10 {rec:6.3f}   {cpu * 1e3:7.3f} ms/query   {1 / cpu:8.0f} QPS/core   "
          f"{base / cpu:6.1f}x   build {build:6.1f} s   {size / 2**20:7.1f} MiB", flush=True)


def file_size(save) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "index")
        save(path)
        return os.path.getsize(path)


def explore_hnsw(x: np.ndarray, queries: np.ndarray, truth: np.ndarray, base: float) -> None:
    import hnswlib

    for m, ef_construction in ((8, 64), (16, 64), (16, 200), (32, 64)):
        started = time.process_time()
        index = hnswlib.Index(space="ip", dim=x.shape[1])
        index.init_index(max_elements=len(x), M=m, ef_construction=ef_construction, random_seed=1)
        index.add_items(x, np.arange(len(x)), num_threads=1)
        build = time.process_time() - started
        size = file_size(index.save_index)
        for ef in (10, 20, 40, 80, 160):
            index.set_ef(ef)
            cpu, answers = cpu_per_query(lambda q, index=index: index.knn_query(q, k=K)[0][0], queries)
            row(f"HNSW M={m} efC={ef_construction} ef={ef}", recall(answers, truth), cpu, base, build, size)


def explore_ivf(x: np.ndarray, queries: np.ndarray, truth: np.ndarray, base: float) -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    # k-means wants about 39 training points per list at least
    for nlist in [n for n in (256, 1024) if 39 * n <= len(x)] or [max(1, len(x) // 100)]:
        for kind in ("Flat", "PQ48"):
            started = time.process_time()
            quantizer = faiss.IndexFlatIP(x.shape[1])
            if kind == "Flat":
                index = faiss.IndexIVFFlat(quantizer, x.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
            elif 256 * 39 <= len(x):  # 48 sub-vectors of 8 dims, one byte each: 48 bytes a vector, not 1536
                index = faiss.IndexIVFPQ(quantizer, x.shape[1], nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
            else:
                continue  # too few rows to train the 256-entry codebooks
            index.train(x)
            index.add(x)
            build = time.process_time() - started
            size = len(faiss.serialize_index(index))
            for nprobe in (1, 4, 16, 64):
                index.nprobe = nprobe
                cpu, answers = cpu_per_query(lambda q, index=index: index.search(q[None, :], K)[1][0], queries)
                row(f"IVF{nlist},{kind} nprobe={nprobe}", recall(answers, truth), cpu, base, build, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="vectors (the grader uses 100,000)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=("hnsw", "ivf"))
    args = parser.parse_args()

    world = dataset.World(args.seed)
    ds = world.dataset(args.n)
    x, queries = ds.vectors, world.queries(args.queries, seed=1)
    truth = np.argsort(-(queries @ x.T), axis=1)[:, :K]

    def brute_force(q: np.ndarray) -> np.ndarray:  # the grader's baseline, exactly
        scores = x @ q
        top = np.argpartition(scores, -K)[-K:]
        return top[np.argsort(-scores[top])]

    base, answers = cpu_per_query(brute_force, queries)
    print(f"{args.n} vectors of {x.shape[1]} dims, {args.queries} queries, one thread")
    row("brute force (numpy, the baseline)", recall(answers, truth), base, base, 0.0, x.nbytes)
    if args.only in (None, "hnsw"):
        explore_hnsw(x, queries, truth, base)
    if args.only in (None, "ivf"):
        explore_ivf(x, queries, truth, base)


if __name__ == "__main__":
    main()

"""Exact batch search on a GPU when there is one, on the CPU otherwise: same answers either way.
Reference solution of the vector-db lab's GPU-optional exercise.

    rows, device = search_batch(vectors, queries, k=10)      # device="auto" | "cuda" | "cpu"

`rows[i]` holds the row numbers (positions in `vectors`, not ids) of the exact top k of
`queries[i]` by inner product, best first; `device` is the device the scores were computed
on, "cuda" or "cpu".

How it stays device-independent: the device (GPU or numpy) only *shortlists* the best
k + SHORTLIST_MARGIN rows per query in float32; the shortlist is then rescored in float64
on the CPU and sorted by (score, row). Float32 sums in another order (a GPU kernel,
TF32 tensor cores, another BLAS) move scores by ~1e-6, far less than the gap between the
k-th and the (k + 32)-th best, so both paths shortlist the true top k and the float64
rescoring orders it the same way.

"auto" uses the GPU only where the sandbox has one (SKILLFORGE_DEVICE=cuda, set by the
platform; probed directly where the variable is unset, e.g. on your laptop) *and* a GPU
array library is importable (torch, then cupy); neither is in the CPU lab image, so the
grader's CPU sandboxes run the numpy path.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

SHORTLIST_MARGIN = 32  # float32 candidates beyond k, rescored exactly
QUERY_CHUNK = 256  # queries per matrix product: bounds the (chunk, n) score matrix's memory


def gpu_library() -> Any | None:
    """torch or cupy with a usable CUDA device, or None (a CPU sandbox, or neither installed)."""
    if os.environ.get("SKILLFORGE_DEVICE", "cuda") != "cuda":  # the platform says: no GPU here
        return None
    try:
        import torch

        if torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = False  # full float32 products for the shortlist
            return torch
    except ImportError:
        pass
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # ImportError, or a CUDA runtime without a driver
        pass
    return None


def _shortlist_cpu(vectors: np.ndarray, block: np.ndarray, m: int) -> np.ndarray:
    scores = block @ vectors.T  # (queries, n) float32
    return np.argpartition(-scores, m - 1, axis=1)[:, :m]


def _shortlist_gpu(lib: Any, vectors: np.ndarray, block: np.ndarray, m: int, cache: dict[str, Any]) -> np.ndarray:
    if lib.__name__ == "torch":
        if "v" not in cache:
            cache["v"] = lib.from_numpy(vectors).to("cuda")
        scores = lib.from_numpy(block).to("cuda") @ cache["v"].T
        return scores.topk(m, dim=1).indices.cpu().numpy()
    if "v" not in cache:  # cupy
        cache["v"] = lib.asarray(vectors)
    scores = lib.asarray(block) @ cache["v"].T
    return lib.asnumpy(lib.argpartition(-scores, m - 1, axis=1)[:, :m])


def search_batch(vectors: np.ndarray, queries: np.ndarray, k: int = 10, device: str = "auto") -> tuple[np.ndarray, str]:
    """The exact top k rows of `vectors` for every query, best first, and the device used."""
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device must be 'auto', 'cuda' or 'cpu', got {device!r}")
    vectors = np.ascontiguousarray(vectors, np.float32)
    queries = np.ascontiguousarray(np.atleast_2d(queries), np.float32)
    n = len(vectors)
    k = min(k, n)
    if k <= 0 or len(queries) == 0:
        return np.empty((len(queries), max(k, 0)), np.int64), "cpu"
    lib = gpu_library() if device != "cpu" else None
    if device == "cuda" and lib is None:
        raise RuntimeError("device='cuda' was asked for, but no GPU (or no torch/cupy) is available")
    m = min(n, k + SHORTLIST_MARGIN)
    cache: dict[str, Any] = {}
    out = np.empty((len(queries), k), np.int64)
    for start in range(0, len(queries), QUERY_CHUNK):
        block = queries[start:start + QUERY_CHUNK]
        rows = _shortlist_gpu(lib, vectors, block, m, cache) if lib is not None else _shortlist_cpu(vectors, block, m)
        for i, (q, cand) in enumerate(zip(block, rows, strict=True)):
            exact = vectors[cand].astype(np.float64) @ q.astype(np.float64)
            out[start + i] = cand[np.lexsort((cand, -exact))[:k]]
    return out, "cuda" if lib is not None else "cpu"

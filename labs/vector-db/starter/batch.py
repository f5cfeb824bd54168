"""Batch search that uses a GPU when the sandbox has one, and the CPU otherwise.

The grader imports this file and calls exactly:

    rows, device = search_batch(vectors, queries, k=10)

    vectors  float32 (n, 384), unit length
    queries  float32 (q, 384)
    rows     int (q, k): for each query, the row numbers (positions in `vectors`) of its
             exact top k by inner product, best first
    device   "cuda" if the scores were computed on a GPU, else "cpu"

device="auto" (the default) must use a GPU only when the sandbox has one (the platform
sets SKILLFORGE_DEVICE=cuda there, and cpu elsewhere) and a GPU library (torch or cupy)
is importable, and fall back to numpy otherwise. Both paths must return the same rows:
the grader runs this in a CPU sandbox and on GPU workers. See the brief.
"""

from __future__ import annotations

import numpy as np


def search_batch(vectors: np.ndarray, queries: np.ndarray, k: int = 10, device: str = "auto") -> tuple[np.ndarray, str]:
    # TODO: pick the device (see the docstring), shortlist candidates there, and make the
    # final top k independent of the device (e.g. rescore the shortlist in float64).
    raise NotImplementedError("search_batch")

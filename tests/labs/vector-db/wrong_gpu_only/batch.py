"""WRONG on purpose (tests/labs/vector-db): batch search that only works on a GPU.

It moves everything to CUDA with torch and never falls back to numpy, so in a sandbox
without a GPU (or without torch, as in the CPU lab image) search_batch raises. The
vector store beside it is the reference solution: only the batch check must fail.
"""

from __future__ import annotations

import numpy as np


def search_batch(vectors: np.ndarray, queries: np.ndarray, k: int = 10, device: str = "auto") -> tuple[np.ndarray, str]:
    import torch  # no CPU fallback: ModuleNotFoundError where torch is absent

    v = torch.from_numpy(np.ascontiguousarray(vectors, np.float32)).to("cuda")
    q = torch.from_numpy(np.ascontiguousarray(queries, np.float32)).to("cuda")
    return (q @ v.T).topk(k, dim=1).indices.cpu().numpy(), "cuda"

"""Your vector store. The grader imports this file and uses exactly this interface:

    store = VectorStore(dim=384, num_shards=4)
    store.add(ids, vectors, metadata)                  # once, with all 100,000 rows
    store.search(query, 10)                            # approximate (ANN), fast
    store.search(query, 10, filter={"lang": "de"})     # exact among the matching rows
    store.search(query, 10, exact=True)                # exact, merged over the shards
    store.shards[i].search(query, 10, exact=True)      # exact within shard i
    store.save("/some/folder")
    VectorStore.load("/some/folder")                   # in a fresh process

A search returns a list of (id, score) pairs, best (highest inner product) first.

This starter works, but it is slow and incomplete: one flat (brute-force) array per
shard, every row in shard 0, no filters, no persistence. Replace it with an ANN index
per shard, route rows by id % num_shards, merge the shards' answers, pre-filter on
metadata, and save/load everything. See the brief.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

DIM = 384
NUM_SHARDS = 4

Hit = tuple[int, float]  # (id, score): score is the inner product, higher is closer


def _top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> list[Hit]:
    """The k best (id, score) pairs, best first."""
    if k <= 0 or len(scores) == 0:
        return []
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[part], ids[part]
    order = np.argsort(-scores)
    return [(int(ids[i]), float(scores[i])) for i in order]


class Shard:
    """One partition of the collection."""

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self.ids = np.empty(0, np.int64)
        self.vectors = np.empty((0, dim), np.float32)
        self.metadata: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]]) -> None:
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        self.vectors = np.concatenate([self.vectors, np.asarray(vectors, np.float32)])
        self.metadata += list(metadata)
        # TODO: build an ANN index (hnswlib.Index or a faiss index) over this shard's vectors.

    def search(self, query: np.ndarray, k: int = 10, *, filter: dict[str, Any] | None = None,
               exact: bool = False) -> list[Hit]:
        if filter:
            # TODO: return the exact top k among the rows whose metadata match the filter.
            raise NotImplementedError("filtered search")
        # TODO: unless exact=True, ask the ANN index instead of scanning every vector.
        return _top_k(self.vectors @ np.asarray(query, np.float32), self.ids, k)


class VectorStore:
    def __init__(self, dim: int = DIM, num_shards: int = NUM_SHARDS) -> None:
        self.dim = dim
        self.shards = [Shard(dim) for _ in range(num_shards)]

    def add(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]]) -> None:
        # TODO: the row with id i belongs in shard i % num_shards.
        self.shards[0].add(ids, vectors, metadata)

    def search(self, query: np.ndarray, k: int = 10, *, filter: dict[str, Any] | None = None,
               exact: bool = False) -> list[Hit]:
        # TODO: scatter to every shard and merge their answers into the global top k.
        return self.shards[0].search(query, k, filter=filter, exact=exact)

    def save(self, folder: str | os.PathLike[str]) -> None:
        # TODO: write every shard (index, ids, vectors, metadata, parameters) under folder.
        raise NotImplementedError("save")

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> VectorStore:
        # TODO: read back what save() wrote, without rebuilding the index.
        raise NotImplementedError("load")

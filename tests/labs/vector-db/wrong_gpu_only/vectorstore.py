"""A small sharded vector store: an IVF index per shard, scatter-gather merge, metadata
filters, persistence. Reference solution of the vector-db lab.

Why IVF and not HNSW: on this dataset (100 topics, strongly clustered) we measured both
with explore.py. Per shard of 25,000 rows, IVF-Flat with ~250 lists and nprobe=8 reaches
recall@10 ~0.98 at ~0.28 ms a query for all four shards, and builds in ~2 CPU-seconds;
HNSW (M=16, ef_construction=100, ef=24) reaches the same recall at ~0.23 ms but takes
~11 CPU-seconds to build. The grader counts query speed, not build time, so either
passes; IVF builds five times faster and its nprobe is stored in the index file.

Design, in short:

- Hash partitioning: the row with id `i` lives in shard `i % num_shards`. Each Shard
  owns its rows' vectors (float32), their ids, their metadata as numpy columns, and a
  faiss IndexIVFFlat over the vectors (faiss labels are row positions in the shard).
- Unfiltered search asks every shard for its own top k (IVF, nprobe=NPROBE) and merges
  the 4 x k candidates by score: the global top k is always among them, because each of
  the global top k is in its own shard's top k.
- Filtered search pre-filters: a boolean mask over the shard's metadata columns picks
  the matching rows, which are scanned exactly (a matrix-vector product over that
  subset). That is exact, and cheap because a filter keeps few rows; post-filtering an
  ANN answer would return fewer than k rows (or none) when the filter is selective.
- exact=True scans every row of every shard: the merge of the shards' exact top k is
  exactly the unsharded exact top k.
- save() writes a manifest plus one folder per shard (faiss's index file, which holds
  the centroids, the inverted lists and nprobe; the vectors, the ids and the metadata
  columns). load() reads them back without training or adding anything again.
"""

from __future__ import annotations

import heapq
import json
import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

DIM = 384
NUM_SHARDS = 4
ROWS_PER_LIST = 100  # IVF lists of about this many rows: 250 lists for a shard of 25,000
MAX_LISTS = 256
NPROBE = 8  # lists scanned per query and shard: more is better recall and slower
FORMAT = "skillforge-vectorstore/1"

# One thread per query: faiss would otherwise start an OpenMP team for every single
# query, which costs more than it saves at this size (and fights other load).
faiss.omp_set_num_threads(1)

Hit = tuple[int, float]  # (id, score): score is the inner product, higher is closer


def _top_k(scores: np.ndarray, ids: np.ndarray, k: int) -> list[Hit]:
    """The k best (id, score) pairs, best first; ties broken by id so answers are stable."""
    if k <= 0 or len(scores) == 0:
        return []
    if len(scores) > k:
        part = np.argpartition(-scores, k - 1)[:k]
        scores, ids = scores[part], ids[part]
    order = np.lexsort((ids, -scores))
    return [(int(ids[i]), float(scores[i])) for i in order]


def merge_top_k(results: list[list[Hit]], k: int) -> list[Hit]:
    """Scatter-gather merge: the k best hits over all shards' answers, best first."""
    return heapq.nsmallest(k, (hit for hits in results for hit in hits), key=lambda h: (-h[1], h[0]))


class Shard:
    """One partition: its rows' vectors, ids, metadata columns and IVF index."""

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self.ids = np.empty(0, np.int64)
        self.vectors = np.empty((0, dim), np.float32)
        self.columns: dict[str, np.ndarray] = {}
        self.index: faiss.Index | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]]) -> None:
        """Add rows and (re)build the index (the grader adds all rows in one call)."""
        rows = self.metadata_rows() + list(metadata)
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        self.vectors = np.ascontiguousarray(np.concatenate([self.vectors, np.asarray(vectors, np.float32)]))
        fields = sorted({f for row in rows for f in row})
        self.columns = {f: _column([row.get(f) for row in rows]) for f in fields}
        self._build()

    def metadata_rows(self) -> list[dict[str, Any]]:
        cols = {f: c.tolist() for f, c in self.columns.items()}
        return [{f: cols[f][i] for f in cols if cols[f][i] is not None} for i in range(len(self.ids))]

    def _build(self) -> None:
        """Train the IVF centroids (k-means, seeded) on this shard's rows, then fill the lists."""
        nlist = int(np.clip(len(self.ids) // ROWS_PER_LIST, 1, MAX_LISTS))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        if len(self.ids):
            index.train(self.vectors)
            index.add(self.vectors)  # faiss labels = row positions 0..n-1
        index.nprobe = min(NPROBE, nlist)
        self.index = index

    # -- search -------------------------------------------------------------------------

    def mask(self, flt: dict[str, Any]) -> np.ndarray:
        """Rows that satisfy every condition of the filter (AND), as a boolean mask."""
        keep = np.ones(len(self.ids), dtype=bool)
        for field, cond in flt.items():
            column = self.columns.get(field)
            if column is None:
                return np.zeros(len(self.ids), dtype=bool)
            if not isinstance(cond, dict):
                cond = {"$eq": cond}
            for op, value in cond.items():
                if op == "$eq":
                    keep &= column == value
                elif op == "$in":
                    keep &= np.isin(column, list(value))
                elif op == "$gt":
                    keep &= column > value
                elif op == "$gte":
                    keep &= column >= value
                elif op == "$lt":
                    keep &= column < value
                elif op == "$lte":
                    keep &= column <= value
                else:
                    raise ValueError(f"unknown filter operator {op!r}")
        return keep

    def search(self, query: np.ndarray, k: int = 10, *, filter: dict[str, Any] | None = None,
               exact: bool = False) -> list[Hit]:
        if len(self.ids) == 0 or k <= 0:
            return []
        query = np.asarray(query, np.float32)
        if filter:
            rows = np.flatnonzero(self.mask(filter))
            return _top_k(self.vectors[rows] @ query, self.ids[rows], k)
        if exact:
            return _top_k(self.vectors @ query, self.ids, k)
        assert self.index is not None
        scores, rows = self.index.search(query.reshape(1, -1), k)
        # -1 pads the answer when the scanned lists hold fewer than k rows
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    # -- persistence ----------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        assert self.index is not None
        faiss.write_index(self.index, str(folder / "ivf.faiss"))
        np.save(folder / "ids.npy", self.ids)
        np.save(folder / "vectors.npy", self.vectors)
        # Mixed-type columns are stored as JSON text: never pickle (np.load refuses it too).
        mixed = sorted(f for f, c in self.columns.items() if c.dtype == object)
        np.savez(folder / "metadata.npz", **{f: np.array([json.dumps(v) for v in c.tolist()]) if f in mixed else c
                                             for f, c in self.columns.items()})
        info = {"rows": len(self.ids), "dim": self.dim, "json_fields": mixed}
        (folder / "shard.json").write_text(json.dumps(info))

    @classmethod
    def load(cls, folder: Path) -> Shard:
        info = json.loads((folder / "shard.json").read_text())
        shard = cls(info["dim"])
        shard.ids = np.load(folder / "ids.npy")
        shard.vectors = np.load(folder / "vectors.npy")
        with np.load(folder / "metadata.npz", allow_pickle=False) as cols:
            shard.columns = {f: np.array([json.loads(v) for v in cols[f].tolist()], dtype=object)
                             if f in info["json_fields"] else cols[f] for f in cols.files}
        shard.index = faiss.read_index(str(folder / "ivf.faiss"))  # nprobe is in the file
        return shard


def _column(values: list[Any]) -> np.ndarray:
    """One metadata field as a typed numpy column, so a filter is one vectorised compare."""
    if all(isinstance(v, str) for v in values):
        return np.array(values, dtype=str)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array(values, dtype=object)  # mixed or missing values: compared one by one


class VectorStore:
    """The collection: NUM_SHARDS shards, rows routed by id % num_shards."""

    def __init__(self, dim: int = DIM, num_shards: int = NUM_SHARDS) -> None:
        self.dim = dim
        self.shards = [Shard(dim) for _ in range(num_shards)]

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def shard_of(self, id_: int) -> int:
        return int(id_) % len(self.shards)

    def add(self, ids: np.ndarray, vectors: np.ndarray, metadata: list[dict[str, Any]]) -> None:
        ids = np.asarray(ids, np.int64)
        vectors = np.asarray(vectors, np.float32)
        if vectors.shape != (len(ids), self.dim) or len(metadata) != len(ids):
            raise ValueError("ids, vectors and metadata must describe the same rows")
        owner = ids % len(self.shards)
        for i, shard in enumerate(self.shards):
            rows = np.flatnonzero(owner == i)
            shard.add(ids[rows], vectors[rows], [metadata[r] for r in rows])

    def search(self, query: np.ndarray, k: int = 10, *, filter: dict[str, Any] | None = None,
               exact: bool = False) -> list[Hit]:
        """Scatter the query to every shard, gather their top k, merge by score."""
        query = np.asarray(query, np.float32)
        return merge_top_k([s.search(query, k, filter=filter, exact=exact) for s in self.shards], k)

    def save(self, folder: str | os.PathLike[str]) -> None:
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        for i, shard in enumerate(self.shards):
            shard.save(root / f"shard_{i}")
        manifest = {"format": FORMAT, "dim": self.dim, "num_shards": len(self.shards), "rows": len(self)}
        (root / "manifest.json").write_text(json.dumps(manifest))

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> VectorStore:
        root = Path(folder)
        manifest = json.loads((root / "manifest.json").read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{root} does not hold a {FORMAT} store")
        store = cls(manifest["dim"], manifest["num_shards"])
        store.shards = [Shard.load(root / f"shard_{i}") for i in range(manifest["num_shards"])]
        return store

"""The lab's dataset: synthetic "document embeddings" with metadata, generated from a seed.

Nothing is downloaded and no third-party data ships: every vector and every metadata
value comes from numpy's seeded PCG64 generator, so the same seed gives the same bytes
on every machine (generated data, no licence attached). The grader uses this very file
with its own seeds; its queries and filters are hidden.

The vectors imitate sentence embeddings (384 dimensions, like all-MiniLM-L6-v2): 100
topics of very different sizes, each a 32-dimensional patch around its own centre plus
a little noise in every direction, normalised to unit length. So the similarity is the
cosine, which for unit vectors is the inner product (higher is closer), and the nearest
neighbours of a query are neither trivial (one obvious cluster) nor meaningless (pure
noise): an ANN index has to work for its recall.

Metadata, one value per field per vector (the grader filters on these):

    tenant  int    0..199 (topic-correlated, 0.1 % to 3 % of the rows each), plus tiny
                   tenants 200..208 holding 1..9 rows: fewer than k=10
    lang    str    "en", "de", "fr", "es", "ja", "pt" (topic-correlated)
    year    int    2000..2024, skewed towards recent years
    price   float  0.3 .. ~2,000, log-normal, two decimals
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DIM = 384
N_TOPICS = 100
TOPIC_DIM = 32
SPREAD = 0.25  # latent scale inside a topic's patch
NOISE = 0.3  # isotropic noise, as a norm
LANGS = ("en", "de", "fr", "es", "ja", "pt")
LANG_P = (0.50, 0.15, 0.12, 0.10, 0.08, 0.05)
N_TENANTS = 200
TINY_TENANTS = 9  # tenants 200..208 hold 1..9 rows
FIELDS = ("tenant", "lang", "year", "price")


@dataclass(frozen=True)
class Dataset:
    ids: np.ndarray  # int64 (n,), unique, random (not 0..n-1)
    vectors: np.ndarray  # float32 (n, DIM), unit rows
    metadata: dict[str, np.ndarray]  # field -> column of n values

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[dict[str, Any]]:
        """The metadata as one plain dict per vector (what VectorStore.add receives)."""
        cols = [self.metadata[f].tolist() for f in FIELDS]
        return [dict(zip(FIELDS, values, strict=True)) for values in zip(*cols, strict=True)]


class World:
    """The topics (centres and patches) every vector and query is drawn from."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 0])
        centres = rng.standard_normal((N_TOPICS, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.bases = (rng.standard_normal((N_TOPICS, TOPIC_DIM, DIM)) / np.sqrt(DIM)).astype(np.float32)
        p = 1.0 / np.arange(1, N_TOPICS + 1) ** 0.7  # topic sizes differ by ~25x
        self.topic_p = p / p.sum()
        self.home_tenants = rng.integers(0, N_TENANTS, (N_TOPICS, 3))
        self.home_lang = rng.integers(0, len(LANGS), N_TOPICS)
        self.seed = seed

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        topic = rng.choice(N_TOPICS, size=n, p=self.topic_p)
        out = np.empty((n, DIM), np.float32)
        for t in range(N_TOPICS):
            sel = np.flatnonzero(topic == t)
            latent = rng.standard_normal((len(sel), TOPIC_DIM)).astype(np.float32) * SPREAD
            noise = rng.standard_normal((len(sel), DIM)).astype(np.float32) * (NOISE / np.sqrt(DIM))
            out[sel] = self.centres[t] + latent @ self.bases[t] + noise
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out, topic

    def dataset(self, n: int) -> Dataset:
        rng = np.random.default_rng([self.seed, 1])
        vectors, topic = self.sample(n, rng)
        ids = rng.choice(10**12, size=n, replace=False).astype(np.int64)
        home = self.home_tenants[topic, rng.integers(0, 3, n)]
        tenant = np.where(rng.random(n) < 0.7, home, rng.integers(0, N_TENANTS, n))
        tiny = rng.choice(n, size=TINY_TENANTS * (TINY_TENANTS + 1) // 2, replace=False)
        tenant[tiny] = np.repeat(np.arange(N_TENANTS, N_TENANTS + TINY_TENANTS), np.arange(1, TINY_TENANTS + 1))
        lang = np.where(rng.random(n) < 0.6, self.home_lang[topic], rng.choice(len(LANGS), size=n, p=LANG_P))
        year = np.clip(2024 - np.floor(rng.exponential(6.0, n)), 2000, 2024).astype(np.int64)
        price = np.round(np.exp(rng.normal(3.0, 1.0, n)), 2).clip(0.3, None)
        metadata = {
            "tenant": tenant.astype(np.int64),
            "lang": np.array(LANGS)[lang],
            "year": year,
            "price": price.astype(np.float64),
        }
        return Dataset(ids, vectors, metadata)

    def queries(self, n: int, seed: int) -> np.ndarray:
        """Queries from the same topics as the data (but never rows of it)."""
        return self.sample(n, np.random.default_rng([self.seed, 2, seed]))[0]


# -- the filter language ---------------------------------------------------------------------

RANGE_OPS = {"$gt": np.greater, "$gte": np.greater_equal, "$lt": np.less, "$lte": np.less_equal}


def matches(flt: dict[str, Any] | None, metadata: dict[str, np.ndarray]) -> np.ndarray:
    """Reference semantics: which rows a filter keeps (a boolean mask).

    {"field": value}                       equality
    {"field": {"$eq": value}}              equality
    {"field": {"$in": [v1, v2, ...]}}      one of
    {"field": {"$gte": a, "$lt": b}}       range ($gt, $gte, $lt, $lte; several combine with AND)
    several fields                         all must hold (AND)
    """
    n = len(next(iter(metadata.values())))
    mask = np.ones(n, dtype=bool)
    for field, cond in (flt or {}).items():
        column = metadata[field]
        if not isinstance(cond, dict):
            cond = {"$eq": cond}
        for op, value in cond.items():
            if op == "$eq":
                mask &= column == value
            elif op == "$in":
                mask &= np.isin(column, list(value))
            elif op in RANGE_OPS:
                mask &= RANGE_OPS[op](column, value)
            else:
                raise ValueError(f"unknown operator {op!r}")
    return mask


def exact_top_k(ds: Dataset, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The exact answer: the k rows (among mask) with the highest inner product, best first.

    float32 scores pick the 64 + k best candidates; those are rescored in float64.
    """
    scores32 = ds.vectors @ query.astype(np.float32)
    rows = np.arange(len(ds)) if mask is None else np.flatnonzero(mask)
    if len(rows) > k + 64:
        rows = rows[np.argpartition(-scores32[rows], k + 63)[:k + 64]]
    scores = ds.vectors[rows].astype(np.float64) @ query.astype(np.float64)
    order = np.lexsort((ds.ids[rows], -scores))[:k]
    return [(int(ds.ids[rows[i]]), float(scores[i])) for i in order]

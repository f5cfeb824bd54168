"""The grader's two baselines and the ranking metrics, in plain numpy.

  bm25   Okapi BM25 (k1 = 1.2, b = 0.75) over title + text, lowercase [a-z0-9]+ tokens,
         English stopwords removed: the lexical half of a hybrid retriever done right.
  dense  cosine similarity between the query's MiniLM embedding and the shipped passage
         embeddings (data/passage_embeddings.npy): the semantic half, done naively, as
         most tutorials do it (no chunking of long passages).

Both rank all passages and keep the top k. The metrics match the `ranking` check kind
(recall@k and nDCG@k with linear gains, averaged over the labelled queries).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from generate import STOPWORDS, tokens

K = 10


def analyze(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOPWORDS]


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tf = [Counter(analyze(d)) for d in docs]
        self.len = np.array([sum(tf.values()) for tf in self.tf], dtype=np.float64)
        self.avg = float(self.len.mean())
        df: Counter[str] = Counter()
        for tf in self.tf:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, tf in enumerate(self.tf):
            for t, f in tf.items():
                self.postings.setdefault(t, []).append((i, f))

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(len(self.tf))
        for t in set(analyze(query)):
            for i, f in self.postings.get(t, ()):
                norm = f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg)
                out[i] += self.idf[t] * f * (self.k1 + 1) / norm
        return out


def top_k(scores: np.ndarray, ids: list[str], k: int = K, *, positive_only: bool = False) -> list[str]:
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]  # ties: corpus order
    return [ids[i] for i in order if not positive_only or scores[i] > 0]


def bm25_rankings(passages: list[dict], queries: list[dict], k: int = K) -> dict[str, list[str]]:
    ids = [p["id"] for p in passages]
    index = BM25([p["title"] + "\n" + p["text"] for p in passages])
    return {q["id"]: top_k(index.scores(q["text"]), ids, k, positive_only=True) for q in queries}


def dense_rankings(passages: list[dict], embeddings: np.ndarray, queries: list[dict],
                   query_embeddings: np.ndarray, k: int = K) -> dict[str, list[str]]:
    ids = [p["id"] for p in passages]
    sims = query_embeddings.astype(np.float32) @ embeddings.astype(np.float32).T
    return {q["id"]: top_k(sims[i], ids, k) for i, q in enumerate(queries)}


def recall(ranked: list[str], gains: dict[str, float], k: int = K) -> float:
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def ndcg(ranked: list[str], gains: dict[str, float], k: int = K) -> float:
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted((g for g in gains.values() if g > 0),
                                                                  reverse=True)[:k]))
    return dcg / ideal if ideal else 0.0


def evaluate(rankings: dict[str, list[str]], qrels: dict[str, dict[str, float]], k: int = K) -> dict[str, float]:
    """Mean recall@k and nDCG@k over the queries of qrels (an unanswered query scores 0)."""
    n = len(qrels)
    return {
        "recall": round(sum(recall(rankings.get(q, []), g, k) for q, g in qrels.items()) / n, 4),
        "ndcg": round(sum(ndcg(rankings.get(q, []), g, k) for q, g in qrels.items()) / n, 4),
    }

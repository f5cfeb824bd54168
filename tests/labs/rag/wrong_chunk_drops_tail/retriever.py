"""Hybrid retriever: BM25 + MiniLM with sliding-window chunks, fused on normalised scores.

WRONG ON PURPOSE (a known-wrong submission for tests/labs/test_rag.py): the windows are
range(0, len(words) - WINDOW_WORDS, STRIDE_WORDS), which never starts a window that would
run past the end, so the last partial window, and with it the end of every long passage,
is never indexed. A passage of 150 to 270 words gets only its first window: exactly what
the shipped embedding already saw.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import minilm
import numpy as np

TOKEN = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her
here hers him his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours out over own same she should so some such than that the their them then there
these they this those through to too under until up very was we were what when where which while who whom
why will with would you your yours s t
""".split())

K1, B = 1.2, 0.75
CHUNK_TOKENS = 200  # a chunk with its title stays well inside MiniLM's 254-token window
WINDOW_WORDS = 150  # about 200 word pieces
STRIDE_WORDS = 120
LEXICAL_WEIGHT = 1.0  # weight of the normalised BM25 score against the cosine similarity


def tokenize(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]


class BM25:
    """Okapi BM25 with an inverted index: term -> (passage rows, term weights)."""

    def __init__(self, docs: list[str], k1: float = K1, b: float = B) -> None:
        tfs = [Counter(tokenize(d)) for d in docs]
        lengths = np.array([sum(tf.values()) for tf in tfs], dtype=np.float64)
        avg = float(lengths.mean()) if len(docs) else 1.0
        n = len(docs)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for row, tf in enumerate(tfs):
            for term, count in tf.items():
                rows, counts = postings.setdefault(term, ([], []))
                rows.append(row)
                counts.append(count)
        self.n = n
        self.max_idf = math.log(1 + (n + 0.5) / 0.5)  # what a term in no passage would weigh
        self.idf: dict[str, float] = {}
        self.index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (rows, counts) in postings.items():
            idf = math.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            r = np.array(rows, dtype=np.int64)
            f = np.array(counts, dtype=np.float64)
            weight = idf * f * (k1 + 1) / (f + k1 * (1 - b + b * lengths[r] / avg))
            self.idf[term] = idf
            self.index[term] = (r, weight)
        self.k1 = k1

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(self.n)
        for term in set(tokenize(query)):
            if term in self.index:
                rows, weight = self.index[term]
                out[rows] += weight  # a term's rows are distinct, so += is safe here
        return out

    def best_possible(self, query: str) -> float:
        """An upper bound of scores(query): every term matched (tf -> infinity, short passage)."""
        return sum(self.idf.get(t, self.max_idf) * (self.k1 + 1) for t in set(tokenize(query)))


def chunk(text: str, count_tokens, limit: int = CHUNK_TOKENS) -> list[str]:
    """Overlapping windows of WINDOW_WORDS words, STRIDE_WORDS apart."""
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text]
    return [" ".join(words[start:start + WINDOW_WORDS]) for start in range(0, len(words) - WINDOW_WORDS, STRIDE_WORDS)]


class Retriever:
    def __init__(self, passages: list[dict], embeddings: np.ndarray) -> None:
        self.ids = [p["id"] for p in passages]
        self.bm25 = BM25([f"{p['title']}\n{p['text']}" for p in passages])
        self.model = minilm.load()
        self.vectors = np.asarray(embeddings, dtype=np.float32)
        window = minilm.MAX_TOKENS - 2  # word pieces the shipped embedding saw
        texts, owners = [], []
        for row, p in enumerate(passages):
            title = p["title"]
            seen = self.model.count_tokens(title)
            if seen + self.model.count_tokens(p["text"]) <= window:
                continue
            for piece in chunk(p["text"], self.model.count_tokens)[1:]:  # the first is what was shipped
                texts.append(f"{title}\n{piece}")
                owners.append(row)
        self.chunk_vectors = self.model.encode(texts) if texts else np.zeros((0, minilm.DIM), np.float32)
        self.chunk_owners = np.array(owners, dtype=np.int64)

    def dense_scores(self, query: str) -> np.ndarray:
        q = self.model.encode([query])[0]
        scores = self.vectors @ q
        if len(self.chunk_owners):
            np.maximum.at(scores, self.chunk_owners, self.chunk_vectors @ q)
        return scores

    def search(self, query: str, k: int = 10) -> list[str]:
        best = self.bm25.best_possible(query)
        lexical = self.bm25.scores(query) / best if best else np.zeros(len(self.ids))
        fused = self.dense_scores(query) + LEXICAL_WEIGHT * lexical
        k = min(k, len(self.ids))
        top = np.argpartition(-fused, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.lexsort((top, -fused[top]))]  # best first; ties by corpus order
        return [self.ids[i] for i in top]

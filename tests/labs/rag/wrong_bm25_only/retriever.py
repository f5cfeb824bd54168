"""Lexical retriever: Okapi BM25 over title + text, through an inverted index.

WRONG ON PURPOSE (a known-wrong submission for tests/labs/test_rag.py): BM25 alone finds
every error code and part number, but a customer who describes a problem in their own
words shares no content word with the documentation, and BM25 returns whatever shares
their filler words. It never uses the embeddings.
"""

from __future__ import annotations

import math
import re
from collections import Counter

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


def tokenize(text: str) -> list[str]:
    return [t for t in TOKEN.findall(text.lower()) if t not in STOPWORDS]


class Retriever:
    def __init__(self, passages: list[dict], embeddings: np.ndarray) -> None:
        self.ids = [p["id"] for p in passages]
        tfs = [Counter(tokenize(f"{p['title']}\n{p['text']}")) for p in passages]
        lengths = np.array([sum(tf.values()) for tf in tfs], dtype=np.float64)
        avg = float(lengths.mean())
        n = len(passages)
        postings: dict[str, list[tuple[int, int]]] = {}
        for row, tf in enumerate(tfs):
            for term, count in tf.items():
                postings.setdefault(term, []).append((row, count))
        self.index: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, entries in postings.items():
            rows = np.array([r for r, _ in entries], dtype=np.int64)
            f = np.array([c for _, c in entries], dtype=np.float64)
            idf = math.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            self.index[term] = (rows, idf * f * (K1 + 1) / (f + K1 * (1 - B + B * lengths[rows] / avg)))

    def search(self, query: str, k: int = 10) -> list[str]:
        scores = np.zeros(len(self.ids))
        for term in set(tokenize(query)):
            if term in self.index:
                rows, weight = self.index[term]
                scores[rows] += weight
        top = np.argsort(-scores, kind="stable")[:k]
        return [self.ids[i] for i in top if scores[i] > 0]

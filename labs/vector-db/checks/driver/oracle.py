"""Ground truth, computed by the driver from its own copy of the data, never shown to the
learner's process: exact top-k answers, and judges for the ids the learner returned.

"Exact" is up to floating-point ties: the learner computes inner products in float32
(in some summation order), we in float64. A returned list is exactly right when it has
min(k, matching rows) distinct ids, every one a matching row, best first, and none of them
scores below the true k-th best score by more than TOL. Two rows whose scores differ by
less than TOL (1e-5, far above float32 rounding on unit vectors and far below the gaps an
approximate index or a wrong merge leaves) are treated as a tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOL = 1e-5
PRESELECT = 64  # float32 candidates rescored in float64 (the true top k is always among them)
CHUNK = 64  # queries per matrix product


@dataclass(frozen=True)
class Truth:
    count: int  # rows that match
    ids: list[int]  # the exact top k of them, best first
    scores: list[float]  # their float64 scores

    @property
    def kth(self) -> float:
        return self.scores[-1] if self.scores else -np.inf



class Oracle:
    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors  # float32 (n, dim)
        self.row_of = {int(i): r for r, i in enumerate(ids.tolist())}

    def scores(self, query: np.ndarray, ids: list[int]) -> np.ndarray | None:
        """float64 scores of these ids (None if any id is not in the collection)."""
        rows = [self.row_of.get(i) for i in ids]
        if any(r is None for r in rows):
            return None
        return self.vectors[rows].astype(np.float64) @ query.astype(np.float64)

    def top(self, queries: np.ndarray, masks: list[np.ndarray | None], k: int) -> list[Truth]:
        """For each (query, mask) pair: how many rows match, and the exact top k among them.

        One float32 matrix product per chunk of queries preselects candidates; those are
        rescored in float64 (the true top k is always among the PRESELECT best in float32).
        """
        out: list[Truth] = []
        for start in range(0, len(queries), CHUNK):
            block = queries[start:start + CHUNK]
            approx = block @ self.vectors.T
            for q, row_scores, mask in zip(block, approx, masks[start:start + CHUNK], strict=True):
                if mask is None:
                    count = len(self.ids)
                    rows = np.argpartition(-row_scores, PRESELECT - 1)[:PRESELECT]
                else:
                    rows = np.flatnonzero(mask)
                    count = len(rows)
                    if count > PRESELECT:
                        rows = rows[np.argpartition(-row_scores[rows], PRESELECT - 1)[:PRESELECT]]
                exact = self.vectors[rows].astype(np.float64) @ q.astype(np.float64)
                order = np.lexsort((self.ids[rows], -exact))[:k]
                out.append(Truth(count, [int(i) for i in self.ids[rows[order]]], exact[order].tolist()))
        return out

    def exact(self, query: np.ndarray, got: list[int] | None, truth: Truth, mask: np.ndarray | None = None) -> bool:
        """Is `got` exactly the true top k of the rows in mask (up to ties), best first?"""
        if got is None or len(got) != len(truth.ids) or len(set(got)) != len(got):
            return False
        if not got:
            return True
        scores = self.scores(query, got)
        if scores is None:
            return False
        if mask is not None and not all(mask[self.row_of[i]] for i in got):
            return False
        return bool(np.all(scores >= truth.kth - TOL) and np.all(np.diff(scores) <= TOL))

    def recall(self, query: np.ndarray, got: list[int] | None, truth: Truth, k: int) -> float:
        """recall@k: the share of the true top k among the first k distinct ids returned."""
        got = [i for i in dict.fromkeys((got or [])[:k]) if i in self.row_of]
        if not got:
            return 0.0
        scores = self.scores(query, got)
        assert scores is not None
        return float(np.sum(scores >= truth.kth - TOL)) / k

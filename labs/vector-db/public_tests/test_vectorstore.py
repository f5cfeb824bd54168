"""Public tests for vectorstore.py: run them as often as you like.

    python -m pytest public_tests -q

They check what the grader checks, on a public dataset of 50,000 vectors (the grader
uses 100,000, with hidden queries and filters). The speed test here is lenient (3x,
where the grader asks 5x) because your machine may be busy; the grader's numbers are
in its log. Passing them all is a very good sign, not a guarantee.
"""

from __future__ import annotations

import time

import dataset
import numpy as np
import pytest

K = 10
TOL = 1e-5  # scores closer than this count as a tie

PUBLIC_FILTERS = [
    {"tenant": 204},  # 5 rows: fewer than k
    {"tenant": 500},  # no rows at all
    {"tenant": {"$in": [200, 201]}},  # 3 rows
    {"tenant": 12},
    {"tenant": {"$in": [10, 20]}, "lang": "en"},
    {"lang": "pt", "year": 2010},
    {"year": {"$lte": 2002}},
    {"price": {"$gte": 50, "$lt": 50.5}},
    {"lang": {"$eq": "ja"}, "price": {"$gt": 100}},
    {"year": {"$gt": 2021}, "tenant": {"$in": [33, 66, 99]}},
    {"lang": "de"},
    {"price": {"$gt": 1}},
]


def ids(hits) -> list[int]:
    return [int(h[0]) for h in hits]


_row_of: dict[int, dict[int, int]] = {}


def row_of(data: dataset.Dataset) -> dict[int, int]:
    """id -> row position (built once per dataset)."""
    if id(data) not in _row_of:
        _row_of[id(data)] = {i: r for r, i in enumerate(data.ids.tolist())}
    return _row_of[id(data)]


def problem(data: dataset.Dataset, query: np.ndarray, got: list[int], mask: np.ndarray | None = None) -> str:
    """Why `got` is not the exact top k of the rows in mask ('' if it is)."""
    truth = dataset.exact_top_k(data, query, K, mask)
    if len(got) != len(truth):
        return f"returned {len(got)} ids, the exact answer has {len(truth)}"
    if len(set(got)) != len(got):
        return "returned the same id twice"
    rows = [row_of(data).get(i) for i in got]
    if None in rows:
        return "returned an id that is not in the collection"
    if mask is not None and not all(mask[r] for r in rows):
        return "returned a row that does not match the filter"
    if not got:
        return ""
    scores = data.vectors[rows].astype(np.float64) @ query.astype(np.float64)
    if np.any(scores < truth[-1][1] - TOL):
        return f"missed part of the true top {K} (expected {[i for i, _ in truth]}, got {got})"
    if np.any(np.diff(scores) > TOL):
        return "not sorted best (highest score) first"
    return ""


def test_rows_are_routed_to_shards_by_id(store, data, queries):
    assert len(store.shards) == 4
    for q in queries[:5]:
        for i, shard in enumerate(store.shards):
            got = ids(shard.search(q, K, exact=True))
            assert all(x % 4 == i for x in got), f"shard {i} holds ids that are not {i} mod 4: {got}"
            why = problem(data, q, got, data.ids % 4 == i)
            assert not why, f"shard {i}, exact=True: {why}"


def test_exact_search_merges_the_shards_exactly(store, data, queries):
    for q in queries[:20]:
        why = problem(data, q, ids(store.search(q, K, exact=True)))
        assert not why, f"search(exact=True): {why}"


def test_ann_recall_at_10(store, data, queries):
    scores = queries @ data.vectors.T
    truth = [set(data.ids[np.argsort(-s)[:K]].tolist()) for s in scores]
    recall = np.mean([len(set(ids(store.search(q, K))[:K]) & t) / K for q, t in zip(queries, truth, strict=True)])
    print(f"recall@10 = {recall:.4f}")
    assert recall >= 0.95, f"recall@10 is {recall:.3f}, needs at least 0.95: raise ef (or nprobe)"


def test_ann_is_faster_than_brute_force(store, data, queries):
    def brute_force(q):  # the grader's baseline
        s = data.vectors @ q
        top = np.argpartition(s, -K)[-K:]
        return top[np.argsort(-s[top])]

    for q in queries[:20]:  # warm up
        store.search(q, K)
    base = mine = 0.0
    for start in range(0, len(queries), 20):  # alternate, so both see the same machine load
        block = queries[start:start + 20]
        t = time.process_time()
        for q in block:
            brute_force(q)
        base += time.process_time() - t
        t = time.process_time()
        for q in block:
            store.search(q, K)
        mine += time.process_time() - t
    speedup = base / max(mine, 1e-9)
    print(f"CPU per query: brute force {base / len(queries) * 1e3:.2f} ms, yours {mine / len(queries) * 1e3:.3f} ms: "
          f"{speedup:.1f}x")
    assert speedup >= 3.0, f"only {speedup:.1f}x faster than brute force (the grader wants 5x on 100,000 vectors)"


@pytest.mark.parametrize("flt", PUBLIC_FILTERS, ids=[str(f) for f in PUBLIC_FILTERS])
def test_filtered_search_is_exact(store, data, queries, flt):
    mask = dataset.matches(flt, data.metadata)
    for q in queries[:3]:
        why = problem(data, q, ids(store.search(q, K, filter=flt)), mask)
        assert not why, f"filter {flt} ({int(mask.sum())} matching rows): {why}"


def test_save_and_load_give_the_same_answers(store, queries, tmp_path):
    import vectorstore

    folder = tmp_path / "saved"
    store.save(str(folder))
    loaded = vectorstore.VectorStore.load(str(folder))
    for q in queries[:50]:
        assert ids(loaded.search(q, K)) == ids(store.search(q, K)), "an ANN answer changed after save and load"
    for q in queries[:5]:
        assert ids(loaded.search(q, K, exact=True)) == ids(store.search(q, K, exact=True))
    for flt in PUBLIC_FILTERS:
        q = queries[0]
        assert ids(loaded.search(q, K, filter=flt)) == ids(store.search(q, K, filter=flt)), \
            f"filter {flt} answers differently after save and load"


def test_search_batch_is_exact_on_this_device(data, queries):
    """batch.py: the exact top k per query, best first, on whichever device this machine has."""
    import batch

    vectors = data.vectors[:10_000]
    rows, device = batch.search_batch(vectors, queries[:100], K)
    print(f"search_batch ran on {device!r}")
    assert device in ("cpu", "cuda"), f"search_batch must name the device it used ('cpu' or 'cuda'), got {device!r}"
    rows = np.asarray(rows)
    assert rows.shape == (100, K), f"expected one row of {K} per query, got shape {rows.shape}"
    for q, got in zip(queries[:100], rows, strict=True):
        scores = vectors.astype(np.float64) @ q.astype(np.float64)
        kth = np.sort(scores)[-K]
        mine = scores[got]
        assert len(set(got.tolist())) == K and np.all(mine >= kth - TOL), "missed part of the true top k"
        assert np.all(np.diff(mine) <= TOL), "not sorted best (highest score) first"

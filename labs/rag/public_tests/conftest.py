"""Find your retriever.py and the lab's data. Run from the folder that holds retriever.py:

    python -m pytest public_tests -q

(or set RETRIEVER_DIR=/path/to/folder and RAG_DATA=/path/to/data).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

_here = Path(__file__).resolve().parent
for folder in (os.environ.get("RETRIEVER_DIR"), os.getcwd(), str(_here.parent)):
    if folder and (Path(folder) / "retriever.py").is_file():
        sys.path.insert(0, folder)
        break
else:
    pytest.exit("retriever.py not found: run pytest from the folder that holds it, or set RETRIEVER_DIR", returncode=4)

for folder in (os.environ.get("RAG_DATA"), os.path.join(os.getcwd(), "data"), str(_here.parent / "data")):
    if folder and (Path(folder) / "corpus.jsonl.gz").is_file():
        DATA = Path(folder)
        break
else:
    pytest.exit("the lab's data/ folder was not found next to public_tests/: set RAG_DATA=/path/to/data", returncode=4)


@pytest.fixture(scope="session")
def passages() -> list[dict]:
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def embeddings() -> np.ndarray:
    return np.load(DATA / "passage_embeddings.npy", allow_pickle=False).astype(np.float32)


@pytest.fixture(scope="session")
def queries() -> list[dict]:
    with open(DATA / "queries_public.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="session")
def bars() -> dict:
    """The bars on the public queries, by the rules the grader applies to the hidden ones."""
    return json.loads((DATA / "baselines_public.json").read_text())["bars"]


@pytest.fixture(scope="session")
def built(passages, embeddings):
    """(retriever, seconds to import retriever.py and build it), built once per session."""
    started = time.perf_counter()
    import retriever

    r = retriever.Retriever(passages, embeddings)
    return r, time.perf_counter() - started


@pytest.fixture(scope="session")
def answers(built, queries):
    """{query id: (returned ids, seconds)} for every public query."""
    r, _ = built
    out = {}
    for q in queries:
        started = time.perf_counter()
        ids = r.search(q["text"], k=10)
        out[q["id"]] = (ids, time.perf_counter() - started)
    return out

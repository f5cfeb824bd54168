"""The GPU-optional exercise of the vector-db lab: the driver's side of batch.py.

After the store's two processes, the driver runs a third one (runner.py, mode "batch")
that calls the learner's search_batch(vectors, queries, 10) once over the first
BATCH_ROWS rows of the hidden collection and BATCH_QUERIES hidden queries. The sandbox's
device reaches the learner's process in SKILLFORGE_DEVICE ("cuda" where a GPU worker
passed a device in, else "cpu"; graders/pipeline.py sets it for the driver). It records:

  batch_exact   queries whose rows are exactly the top k over those rows (oracle.py),
                counted only when search_batch named a device the sandbox has ("cpu"
                always; "cuda" only where SKILLFORGE_DEVICE is cuda)
  batch_device  the device search_batch named, and the sandbox's, e.g. "cpu (sandbox: cpu)"

Like every other observation, both come from what this process saw: rows judged against
exact answers computed here, and a device name checked against the sandbox's.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from oracle import Oracle

K = 10
BATCH_ROWS = 20_000  # search_batch gets the first rows of the collection ...
BATCH_QUERIES = 200  # ... and these many queries from BATCH_SEED
BATCH_SEED = 5151  # hidden, like the driver's QUERY_SEED
BATCH_DIR = "/tmp/vdb-batch"
BATCH_PROCESS_TIMEOUT = 20.0  # start, import numpy, load 30 MB, 200 x 20,000 inner products
CALL_TIMEOUT = 20.0
CONNECT_TIMEOUT = 60.0
DEVICES = ("cpu", "cuda")


@dataclass
class BatchWork:
    world: Any
    ds: Any
    queries: np.ndarray = field(init=False)
    device: str | None = None  # what search_batch named
    answers: list[list[int] | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.queries = self.world.queries(BATCH_QUERIES, BATCH_SEED)


def sandbox_device() -> str:
    """The device the platform gave this sandbox (graders/pipeline.py sets SKILLFORGE_DEVICE)."""
    device = os.environ.get("SKILLFORGE_DEVICE", "cpu")
    return device if device in DEVICES else "cpu"


def write_batch(work: BatchWork) -> None:
    os.makedirs(BATCH_DIR, mode=0o755, exist_ok=True)
    np.save(os.path.join(BATCH_DIR, "vectors.npy"), work.ds.vectors[:BATCH_ROWS])
    np.save(os.path.join(BATCH_DIR, "queries.npy"), work.queries)
    for name in os.listdir(BATCH_DIR):
        os.chmod(os.path.join(BATCH_DIR, name), 0o644)


def batch_phase(session: Any, server: socket.socket, work: BatchWork) -> None:
    """The driver's Session: search_batch's device (a text frame), then one answer per query."""
    session.accept(server, CONNECT_TIMEOUT)
    if session.sock is None:
        work.notes.append(f"batch: {session.problem}")
        return
    work.device = session.text(BATCH_PROCESS_TIMEOUT)
    if work.device is None:
        work.notes.append(f"batch: {session.problem or 'no answer'}")
        return
    for _ in work.queries:
        answer = session.rows(CALL_TIMEOUT)
        if session.sock is None:
            break
        work.answers.append(answer)
    if session.problem:
        work.notes.append(f"batch process: {session.problem}")
    session.close()


def observe_batch(work: BatchWork, notes: list[str]) -> dict[str, Any]:
    """batch_exact and batch_device; what was seen goes to the log (notes)."""
    queries, have = work.queries, sandbox_device()
    answers = [*work.answers, *[None] * (len(queries) - len(work.answers))][:len(queries)]
    oracle = Oracle(np.arange(BATCH_ROWS, dtype=np.int64), work.ds.vectors[:BATCH_ROWS])
    truths = oracle.top(queries, [None] * len(queries), K)
    exact = sum(oracle.exact(q, a, t) for q, a, t in zip(queries, answers, truths, strict=True))
    named = work.device
    shown = "nothing" if named is None else repr(named[:40])
    sandbox = "a GPU (SKILLFORGE_DEVICE=cuda)" if have == "cuda" else "no GPU (SKILLFORGE_DEVICE=cpu)"
    notes.extend(work.notes)
    notes.append(f"batch: search_batch ran on {shown}; the sandbox has {sandbox}; "
                 f"{exact} of {len(queries)} batched queries exactly right")
    if named is not None and not (named in DEVICES and (named == "cpu" or have == "cuda")):
        notes.append(f"batch: {shown} is not a device this sandbox has (it has {have}): no batched answer counts")
        exact = 0
    device = named[:40] if named is not None else "none"
    return {"batch_exact": exact, "batch_device": f"{device} (sandbox: {have})"}

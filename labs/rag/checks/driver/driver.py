"""Trusted driver for the rag lab. Runs inside the sandbox as the driver user.

It copies the corpus, the shipped passage embeddings and the provided minilm.py to a
folder the learner's user can read (but not change), starts runner.py as the learner's
user around the learner's retriever.py, and drives it over a control socket: one
"build", then the hidden queries one at a time (texts only: their relevance labels
never enter the sandbox). It keeps every clock itself and records:

  rankings                {query id: the first 10 distinct passage ids returned}, scored on
                          the host (ranking checks: recall@10, nDCG@10 against
                          checks/expected/qrels_*.json)
  answered                queries answered with a valid list (at most 10 distinct passage ids
                          of the corpus), within QUERY_TIMEOUT
  build_within_limit      importing retriever.py and constructing Retriever took at most
                          BUILD_LIMIT seconds
  latency_within_limit    every query answered, and the 95th percentile of the per-query
                          round trip at most P95_LIMIT seconds

The limits are generous (a correct solution needs a tenth of them), so the booleans do
not flip on a busy machine; the raw timings go to the learner's log only, never into the
report's hashed part. The hidden question texts are blanked out of that log.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import sfharness as h  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNNER_SOURCE = (HERE / "runner.py").read_text(encoding="utf-8")
SHARED = Path("/tmp/rag-data")  # the driver's copy of the data, readable by the learner
DATA_FILES = ("corpus.jsonl.gz", "passage_embeddings.npy")

K = 10
BUILD_LIMIT = 30.0  # seconds for import + Retriever(...); a correct solution needs a few
P95_LIMIT = 0.25  # seconds per query at the 95th percentile; a correct solution needs ~0.02
LOAD_TIMEOUT = 30.0  # the runner reading the data files (not the learner's time)
BUILD_ABORT = 60.0  # past this the driver stops waiting for the build
QUERY_TIMEOUT = 5.0  # past this for one query the driver stops asking
LEARNER_TIMEOUT = 150.0  # the learner's whole process
CONTROL_LINE_LIMIT = 1024 * 1024
# One BLAS thread: on a shared machine OpenBLAS's spinning threads make timings swing
# tenfold, and one thread keeps the arithmetic (and so the rankings) the same every run.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def read_queries() -> list[dict[str, str]]:
    with open(HERE / "data" / "queries_hidden.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def read_passage_ids() -> set[str]:
    import gzip

    with gzip.open(HERE / "data" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        return {json.loads(line)["id"] for line in fh}


def share_data() -> None:
    """Copy the data and minilm.py where the learner can read them (mode 0755/0644, ours)."""
    (SHARED / "lib").mkdir(parents=True, exist_ok=True)
    for name in DATA_FILES:
        shutil.copyfile(HERE / "data" / name, SHARED / name)
    shutil.copyfile(HERE / "minilm.py", SHARED / "lib" / "minilm.py")
    for path in (SHARED, SHARED / "lib"):
        os.chmod(path, 0o755)  # noqa: S103 - the learner's user must read (never write) them
    for path in [*(SHARED / n for n in DATA_FILES), SHARED / "lib" / "minilm.py"]:
        os.chmod(path, 0o644)


@dataclass
class Session:
    """One conversation with the runner, observed from the driver's side."""

    queries: list[dict[str, str]]
    taken: bool = False
    build_seconds: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # query id -> what came back
    latencies: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.taken:  # one channel, opened by the runner before the learner's code loads
            writer.close()
            return
        self.taken = True
        try:
            await self._converse(reader, writer)
        except TimeoutError:
            h.kill_learner_processes()
        except (ConnectionError, ValueError, asyncio.IncompleteReadError) as exc:
            self.notes.append(f"the connection to your process ended early ({type(exc).__name__})")
        finally:
            writer.close()
            self.done.set()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def ask(doc: dict[str, Any], timeout: float) -> dict[str, Any]:
            if doc:
                writer.write(json.dumps(doc).encode() + b"\n")
                await writer.drain()
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                raise ConnectionError("closed")
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ValueError("not an object")
            return msg

        await ask({}, LOAD_TIMEOUT)  # "loaded"
        started = time.perf_counter()
        try:
            msg = await ask({"op": "build"}, BUILD_ABORT)
        except TimeoutError:
            self.notes.append(f"building the index took more than {BUILD_ABORT:g} s; the grader stopped waiting")
            raise
        if msg.get("event") != "built":
            self.notes.append("retriever.py could not be imported or Retriever(...) raised (see the traceback above)")
            return
        self.build_seconds = time.perf_counter() - started
        for n, query in enumerate(self.queries):
            started = time.perf_counter()
            try:
                msg = await ask({"op": "search", "n": n, "query": query["text"]}, QUERY_TIMEOUT)
            except TimeoutError:
                self.notes.append(f"a search took more than {QUERY_TIMEOUT:g} s; the grader stopped asking "
                                  f"after {n} of {len(self.queries)} queries")
                raise
            self.latencies.append(time.perf_counter() - started)
            if msg.get("n") != n:
                raise ValueError("answer out of order")
            self.answers[query["id"]] = msg
        writer.write(b'{"op": "bye"}\n')
        await writer.drain()


def observe(session: Session, passage_ids: set[str]) -> tuple[dict[str, Any], list[str]]:
    notes = list(session.notes)
    rankings: dict[str, list[str]] = {}
    answered = 0
    problems: list[str] = []
    for query in session.queries:
        msg = session.answers.get(query["id"])
        if msg is None:
            continue
        ids = msg.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append(str(msg.get("error") or "search() did not return a list of strings"))
            continue
        distinct = list(dict.fromkeys(ids))
        rankings[query["id"]] = distinct[:K]
        unknown = [i for i in distinct if i not in passage_ids]
        if len(ids) > K:
            problems.append(f"search() returned {len(ids)} ids; return at most k={K}")
        elif len(distinct) != len(ids):
            problems.append("search() returned the same passage id twice")
        elif unknown:
            problems.append(f"search() returned ids that are not passage ids of the corpus, e.g. {unknown[0][:40]!r}")
        else:
            answered += 1
    total = len(session.queries)
    in_time = len(session.latencies) == total
    p95 = _percentile(session.latencies, 0.95)
    build_ok = session.build_seconds is not None and session.build_seconds <= BUILD_LIMIT
    obs = {
        "rankings": rankings,
        "answered": answered,
        "build_within_limit": build_ok,
        "latency_within_limit": bool(in_time and p95 is not None and p95 <= P95_LIMIT),
    }
    if session.build_seconds is not None:
        notes.append(f"index build (import + Retriever(...)): {session.build_seconds:.2f} s (limit {BUILD_LIMIT:g} s)")
    if session.latencies:
        notes.append(f"search latency over {len(session.latencies)} queries: median "
                     f"{_percentile(session.latencies, 0.5) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max "  # type: ignore[operator]
                     f"{max(session.latencies) * 1000:.1f} ms (p95 limit {P95_LIMIT * 1000:g} ms)")
    notes.append(f"{answered} of {total} queries answered with a valid list of passage ids")
    if problems:
        notes.append(f"{len(problems)} answers had problems; the first: {problems[0]}")
    notes.append("recall@10 and nDCG@10 are computed outside the sandbox; their labels never enter it")
    return obs, notes


def redactor(queries: list[dict[str, str]]):
    """Blank the hidden questions out of the learner's output before it reaches the log the
    learner reads (a print(query) in search() would otherwise publish the hidden set)."""
    texts = sorted({q["text"] for q in queries if q["text"].strip()}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(t) for t in texts), re.IGNORECASE) if texts else None

    def redact(blob: bytes) -> bytes:
        if pattern is None:
            return blob
        return pattern.sub("[hidden question]", blob.decode("utf-8", "replace")).encode()

    return redact


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def grade() -> None:
    session = Session(read_queries())
    server = await asyncio.start_server(session.handle, "127.0.0.1", 0, limit=CONTROL_LINE_LIMIT)
    config = {"control_port": server.sockets[0].getsockname()[1], "data_dir": str(SHARED),
              "lib_dir": str(SHARED / "lib")}
    run = await h.run_learner(["python3", "-I", "-c", RUNNER_SOURCE], timeout=LEARNER_TIMEOUT, env=ONE_THREAD,
                              stdin=json.dumps(config).encode(), output_cap=64 * 1024)
    if session.taken:
        try:
            await asyncio.wait_for(session.done.wait(), 2.0)
        except TimeoutError:
            pass
    else:
        session.notes.append("your process never opened the grader's channel (did Python start?)")
    server.close()
    obs, notes = observe(session, read_passage_ids())
    hidden = redactor(session.queries)
    run.stdout, run.stderr = hidden(run.stdout), hidden(run.stderr)
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)


def main() -> None:
    h.prepare_workspace()
    share_data()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

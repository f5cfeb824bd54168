"""Trusted driver for the vector-db lab. Runs inside the sandbox as the driver user.

It generates the dataset (dataset.py, seeded: 100,000 unit vectors of 384 dimensions
with metadata), writes it where the learner's user can read it, and runs the learner's
vectorstore.py (through runner.py, as the learner's user) twice:

  build   VectorStore(dim=384, num_shards=4).add(every row), then queries one at a time
          over a Unix socket (the next one only after the answer to the last), then
          save(folder);
  reload  a fresh process, with the dataset files deleted and nothing of the first
          process left: VectorStore.load(folder), then the same queries again;

and then, in a third process, the learner's batch.py: search_batch(vectors, queries, 10)
over 20,000 of the vectors and 200 other hidden queries, with the sandbox's device named
in SKILLFORGE_DEVICE ("cuda" on a GPU worker that passed a device in, else "cpu").

Everything is judged here, from the ids that come back, against exact answers this
process computes itself (oracle.py); the hidden queries and filters never leave it, and
the answers never enter the learner's process. It records:

  recall_ok          mean recall@10 of 400 unfiltered queries >= RECALL_BAR
  speedup_ok         all 400 answered, CPU time per query of the baseline / of the
                     learner >= SPEEDUP_BAR, and median wall-clock latency of the baseline
                     / of the learner >= WALL_BAR (see below)
  filtered_exact     filtered queries answered exactly (all matching, best first, k of them)
  shard_merge_exact  queries where each shard's exact top k is exact within that shard
                     (ids with id % 4 == shard) AND the merged exact search equals the exact
                     answer over the whole, unsharded collection
  reload_same        queries the reloaded store answered with the same ids, in the same
                     order, as the store that saved it
  batch_exact        batched queries answered exactly (batchcheck.py)
  batch_device       the device search_batch named, and the sandbox's

The baseline, measured here in the same run on the same queries: per query, one
float32 matrix-vector product of the query with all 100,000 vectors (numpy, one BLAS
thread), np.argpartition for the top 10 and a sort of those 10. Baseline and learner
alternate in blocks of 20 queries. Speed is CPU time per query, because on a busy
machine wall-clock time measures the other tenants as much as the code: the baseline's
is this thread's CPU clock; the learner's is the kernel's count of CPU time of every
thread of every process of the learner's user while it answered (schedstat); no thread
or process may start or end during the timed queries and the learner may not work
while the baseline runs (it could slow it down), so no work can hide. Wall-clock
latency is a looser second bar (WALL_BAR) so that a store cannot pass by waiting. Timings
only become one boolean, decided with wide margins; the raw numbers go to the log.
Every other observation is a count, so a submission gets the same report every run.
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread for the baseline (set before numpy loads); the learner gets the same.
THREADS_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
os.environ.update(THREADS_ENV)

import sys  # noqa: E402

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import batchcheck  # noqa: E402
import numpy as np  # noqa: E402
import sfharness as h  # noqa: E402
from dataset import DIM, FIELDS, World, matches  # noqa: E402
from oracle import Oracle  # noqa: E402

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")

N = 100_000
K = 10
NUM_SHARDS = 4
WORLD_SEED = 90210  # hidden: the learner's public dataset uses other seeds
QUERY_SEED = 4242
WARMUP = 20
TIMED = 400
BLOCK = 20  # baseline and learner alternate in blocks of this many queries
EXACT_QUERIES = 30
RELOAD_ANN = 100  # of the timed queries, asked again after the reload
RECALL_BAR = 0.95
SPEEDUP_BAR = 5.0  # CPU time per query: the baseline's / the learner's
WALL_BAR = 2.0  # and the median wall-clock latencies, a sanity check that holds under load
IDLE_CPU_SHARE = 0.05  # the learner's CPU while the baseline runs, at most this share of the baseline's

DATA_DIR = "/tmp/vdb-data"
INDEX_DIR = "/work/saved-index"
SOCKET = "/tmp/vdb-driver.sock"
BUILD_PROCESS_TIMEOUT = 180.0  # the whole build process: start, build, queries, save
RELOAD_PROCESS_TIMEOUT = 60.0
CONNECT_TIMEOUT = 60.0
BUILD_READY_TIMEOUT = 90.0  # import + add() of 100,000 rows
LOAD_READY_TIMEOUT = 30.0
CALL_TIMEOUT = 20.0
SAVE_TIMEOUT = 60.0
TIMED_BUDGET = 60.0  # seconds for the timed queries; the rest count as unanswered

SEARCH, EXACT, SHARD_EXACT, FILTERED, SAVE, BYE = 1, 2, 3, 4, 5, 6
REQUEST = struct.Struct("<BbHI")
MAX_HITS = 1000
MAX_MESSAGE = 64 * 1024

# Hidden filters, one query each. Their selectivity (rows of 100,000) ranges from none and
# fewer than k (tiny tenants) through a fraction of a percent to most of the collection.
FILTERS: list[dict[str, Any]] = [
    # fewer than k rows match, or none
    {"tenant": 200},
    {"tenant": 203},
    {"tenant": 208},
    {"tenant": {"$in": [201, 205]}},
    {"tenant": 999},
    {"tenant": 54, "year": {"$lt": 2012}},
    {"price": {"$gte": 1000}},
    # selective: a few hundred rows or fewer
    {"tenant": 54},
    {"tenant": 21},
    {"tenant": 1},
    {"tenant": 148},
    {"tenant": {"$in": [0, 85, 143]}},
    {"tenant": 124, "lang": "ja"},
    {"tenant": {"$eq": 90}},
    {"lang": "pt", "year": 2003},
    {"lang": "ja", "year": {"$gte": 2024}},
    {"lang": {"$in": ["fr", "es"]}, "year": {"$lte": 2001}},
    {"year": 2001},
    {"year": {"$gte": 2002, "$lt": 2004}},
    {"price": {"$lt": 1.0}},
    {"price": {"$gt": 500}},
    {"price": {"$gte": 99.5, "$lte": 100.5}},
    {"lang": "de", "price": {"$lt": 2}},
    {"tenant": {"$in": [3, 77, 150]}, "year": {"$gte": 2020}},
    {"lang": "en", "year": 2024, "price": {"$lte": 5}},
    {"tenant": 18, "price": {"$gt": 50}},
    {"year": {"$gt": 2000, "$lt": 2003}, "lang": "en"},
    {"lang": "es", "tenant": 75},
    {"tenant": 127, "year": {"$gte": 2023}},
    # broad: from a few percent to nearly everything
    {"lang": "ja"},
    {"lang": "en"},
    {"lang": {"$in": ["de", "fr", "pt"]}},
    {"year": {"$gte": 2015}},
    {"year": {"$lt": 2015}},
    {"price": {"$gt": 2}},
    {"price": {"$lte": 20.1}},
    {"year": 2020, "lang": "de"},
    {"tenant": {"$in": list(range(0, 200, 2))}},
    {"year": {"$gte": 2010, "$lte": 2019}, "price": {"$lt": 50}},
    {"lang": {"$eq": "fr"}, "year": {"$gte": 2022}},
]


@dataclass
class Session:
    """The driver's end of the socket: one request, one answer, timed from here."""

    sock: socket.socket | None = None
    problem: str = ""
    failed_calls: int = 0
    first_error: str = ""
    last_error: str = ""
    timed_out: float = 0.0  # the limit (s) the learner's process ran past, if it did

    def accept(self, server: socket.socket, timeout: float) -> None:
        server.settimeout(timeout)
        try:
            self.sock, _ = server.accept()
        except OSError:
            self.problem = "the learner's process never connected (it did not start?)"

    def _recv(self, n: int) -> bytes:
        assert self.sock is not None
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            r = self.sock.recv_into(view[got:])
            if not r:
                raise ConnectionError("the learner's process closed the connection (it crashed or exited?)")
            got += r
        return bytes(buf)

    def _answer(self, timeout: float) -> list[int] | None:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        (n,) = struct.unpack("<i", self._recv(4))
        if n == -2:
            raise ConnectionError("malformed answer (a text frame where ids were due)")
        if n == -1:
            (size,) = struct.unpack("<I", self._recv(4))
            if size > MAX_MESSAGE:
                raise ConnectionError(f"malformed answer (a {size}-byte error message)")
            message = self._recv(size).decode("utf-8", "replace")
            self.failed_calls += 1
            self.first_error = self.first_error or message[:300]
            self.last_error = message[:300]
            return None
        if not 0 <= n <= MAX_HITS:
            raise ConnectionError(f"malformed answer ({n} hits)")
        return np.frombuffer(self._recv(8 * n), dtype="<i8").tolist()

    def ready(self, timeout: float) -> bool:
        if self.sock is None:
            return False
        try:
            if self._answer(timeout) is None:
                self.problem = self.first_error or "the store could not be built or loaded"
                self.sock.close()
                self.sock = None
                return False
            return True
        except (OSError, ConnectionError, struct.error) as exc:
            if isinstance(exc, TimeoutError):
                self.timed_out = timeout
            self.problem = f"the store never became ready within {timeout:g} s ({exc or type(exc).__name__})"
            self.sock.close()
            self.sock = None
            return False

    def call(self, op: int, payload: bytes, *, k: int = K, shard: int = -1, timeout: float = CALL_TIMEOUT) -> list[int] | None:
        if self.sock is None:
            return None
        try:
            self.sock.sendall(REQUEST.pack(op, shard, k, len(payload)) + payload)
            return self._answer(timeout)
        except (OSError, ConnectionError, struct.error) as exc:
            if isinstance(exc, TimeoutError):
                self.timed_out = timeout
                self.problem = self.problem or f"a call took longer than {timeout:g} s; the process was stopped"
            self.problem = self.problem or f"the connection failed: {exc or type(exc).__name__}"
            self.sock.close()
            self.sock = None
            return None

    def text(self, timeout: float) -> str | None:
        """A short text frame (the batch's device), or None where the call failed."""
        if self.sock is None:
            return None
        try:
            self.sock.settimeout(timeout)
            (n,) = struct.unpack("<i", self._recv(4))
            if n not in (-1, -2):
                raise ConnectionError("malformed answer (ids where a text frame was due)")
            (size,) = struct.unpack("<I", self._recv(4))
            if size > (MAX_MESSAGE if n == -1 else 200):
                raise ConnectionError(f"malformed answer (a {size}-byte text)")
            message = self._recv(size).decode("utf-8", "replace")
            if n == -1:
                self.failed_calls += 1
                self.first_error = self.first_error or message[:300]
                self.problem = message[:300]
                return None
            return message
        except (OSError, ConnectionError, struct.error) as exc:
            if isinstance(exc, TimeoutError):
                self.timed_out = timeout
            self.problem = f"no answer within {timeout:g} s ({exc or type(exc).__name__})"
            self.sock.close()
            self.sock = None
            return None

    def rows(self, timeout: float) -> list[int] | None:
        """One answer of ids; None (and the connection closed) where it failed."""
        if self.sock is None:
            return None
        try:
            return self._answer(timeout)
        except (OSError, ConnectionError, struct.error) as exc:
            if isinstance(exc, TimeoutError):
                self.timed_out = timeout
            self.problem = self.problem or f"the connection failed: {exc or type(exc).__name__}"
            self.sock.close()
            self.sock = None
            return None

    def search(self, op: int, query: np.ndarray, **kw: Any) -> list[int] | None:
        flt = kw.pop("flt", None)
        payload = query.astype("<f4").tobytes() + (json.dumps(flt).encode() if flt is not None else b"")
        return self.call(op, payload, **kw)

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.settimeout(2.0)
                self.sock.sendall(REQUEST.pack(BYE, -1, 0, 0))
            except OSError:
                pass
            self.sock.close()
            self.sock = None


@dataclass
class Work:
    """The hidden queries, and everything the learner answered."""

    warmup: np.ndarray
    timed: np.ndarray
    exact: np.ndarray
    filtered: np.ndarray
    masks: list[np.ndarray]
    shard_masks: list[np.ndarray]
    ann: list[list[int] | None] = field(default_factory=list)
    learner_s: list[float] = field(default_factory=list)  # wall seconds per query, seen from here
    baseline_s: list[float] = field(default_factory=list)
    baseline_cpu: float = 0.0  # CPU seconds the baseline spent on the timed queries
    learner_cpu: float = 0.0  # CPU seconds the learner's tasks spent while answering them
    learner_idle_cpu: float = 0.0  # ... and while the baseline ran (it should be next to nothing)
    cpu_problem: str = ""  # why the learner's CPU time could not be measured
    exact_ans: list[list[int] | None] = field(default_factory=list)
    shard_ans: list[list[list[int] | None]] = field(default_factory=list)
    filtered_ans: list[list[int] | None] = field(default_factory=list)
    saved: bool = False
    ann2: list[list[int] | None] = field(default_factory=list)
    exact2: list[list[int] | None] = field(default_factory=list)
    filtered2: list[list[int] | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int = K) -> np.ndarray:
    """The baseline: exact top k for one query with plain numpy."""
    scores = vectors @ query
    top = np.argpartition(scores, -k)[-k:]
    return top[np.argsort(-scores[top])]


def build_phase(session: Session, server: socket.socket, vectors: np.ndarray, work: Work) -> None:
    started = time.monotonic()
    session.accept(server, CONNECT_TIMEOUT)
    if not session.ready(BUILD_READY_TIMEOUT):
        work.notes.append(f"build: {session.problem}")
        return
    work.notes.append(f"build: the store was ready {time.monotonic() - started:.1f} s after the process started")
    for q in work.warmup:
        brute_force(vectors, q)
        session.search(SEARCH, q)
    deadline = time.monotonic() + TIMED_BUDGET
    pid, snap = last_pid(), learner_cpu_ns()
    for start in range(0, len(work.timed), BLOCK):
        block = work.timed[start:start + BLOCK]
        for q in block:
            t, c = time.perf_counter(), time.thread_time()
            brute_force(vectors, q)
            work.baseline_cpu += time.thread_time() - c
            work.baseline_s.append(time.perf_counter() - t)
        mid = learner_cpu_ns()  # the learner had no query: it should have used no CPU
        for q in block:
            if time.monotonic() > deadline:
                work.ann.append(None)
                continue
            t = time.perf_counter()
            work.ann.append(session.search(SEARCH, q))
            work.learner_s.append(time.perf_counter() - t)
        end = learner_cpu_ns()
        if last_pid() != pid or not set(snap) == set(mid) == set(end):
            work.cpu_problem = work.cpu_problem or "your process started or ended a thread or process while being timed"
        work.learner_idle_cpu += sum(mid[t] - snap[t] for t in mid if t in snap) / 1e9
        work.learner_cpu += sum(end[t] - mid[t] for t in end if t in mid) / 1e9
        snap = end
    if time.monotonic() > deadline:
        work.notes.append(f"search: the timed queries took more than {TIMED_BUDGET:g} s; the rest count as unanswered")
    for q in work.exact:
        work.shard_ans.append([session.search(SHARD_EXACT, q, shard=i) for i in range(NUM_SHARDS)])
        work.exact_ans.append(session.search(EXACT, q))
    for q, flt in zip(work.filtered, FILTERS, strict=True):
        work.filtered_ans.append(session.search(FILTERED, q, flt=flt))
    t = time.monotonic()
    work.saved = session.sock is not None and session.call(SAVE, INDEX_DIR.encode(), k=0, timeout=SAVE_TIMEOUT) == []
    if work.saved:
        work.notes.append(f"save: {time.monotonic() - t:.1f} s, {folder_size(INDEX_DIR) / 2**20:.0f} MiB on disk")
    else:
        work.notes.append(f"save: failed ({session.last_error or session.problem or 'no answer'})")
    if session.failed_calls:
        work.notes.append(f"build process: {session.failed_calls} calls raised, the first: {session.first_error}")
    elif session.problem:
        work.notes.append(f"build process: {session.problem}")
    session.close()


def reload_phase(session: Session, server: socket.socket, work: Work) -> None:
    started = time.monotonic()
    session.accept(server, CONNECT_TIMEOUT)
    if not session.ready(LOAD_READY_TIMEOUT):
        work.notes.append(f"reload: {session.problem}")
        return
    work.notes.append(f"reload: the store was loaded {time.monotonic() - started:.1f} s after the process started")
    work.ann2 = [session.search(SEARCH, q) for q in work.timed[:RELOAD_ANN]]
    work.exact2 = [session.search(EXACT, q) for q in work.exact]
    work.filtered2 = [session.search(FILTERED, q, flt=flt) for q, flt in zip(work.filtered, FILTERS, strict=True)]
    if session.failed_calls:
        work.notes.append(f"reload process: {session.failed_calls} calls raised, the first: {session.first_error}")
    elif session.problem:
        work.notes.append(f"reload process: {session.problem}")
    session.close()


def learner_cpu_ns() -> dict[int, int]:
    """CPU time (ns) of every thread of every process of the learner's user, by thread id.

    /proc/<pid>/task/<tid>/schedstat starts with the thread's time on a CPU in ns; the
    kernel keeps it, so the learner cannot fake it, and together with last_pid() (no
    thread or process may start or end while a block is timed) no work can hide in a
    helper that comes and goes.
    """
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                uid = next(line.split()[1] for line in fh if line.startswith("Uid:"))
            if int(uid) != h.LEARNER_UID:
                continue
            for tid in os.listdir(f"/proc/{entry}/task"):
                with open(f"/proc/{entry}/task/{tid}/schedstat", encoding="utf-8") as fh:
                    out[int(tid)] = int(fh.read().split()[0])
        except (OSError, StopIteration, ValueError, IndexError):
            continue
    return out


def last_pid() -> int:
    """The last process or thread id handed out in this sandbox's pid namespace."""
    with open("/proc/loadavg", encoding="utf-8") as fh:
        return int(fh.read().split()[-1])


def folder_size(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def write_dataset(ds: Any) -> None:
    os.makedirs(DATA_DIR, mode=0o755, exist_ok=True)
    np.save(os.path.join(DATA_DIR, "vectors.npy"), ds.vectors)
    np.save(os.path.join(DATA_DIR, "ids.npy"), ds.ids)
    with open(os.path.join(DATA_DIR, "metadata.json"), "w", encoding="utf-8") as fh:
        json.dump({f: ds.metadata[f].tolist() for f in FIELDS}, fh)
    for name in os.listdir(DATA_DIR):
        os.chmod(os.path.join(DATA_DIR, name), 0o644)


async def run_phase(phase: Any, config: dict[str, Any], timeout: float, *args: Any) -> h.LearnerRun:
    """Run the learner's process and, beside it, the driver's side of the conversation."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    server.bind(SOCKET)
    os.chmod(SOCKET, 0o666)  # noqa: S103 - the learner's user must be able to connect
    server.listen(1)
    config = {**config, "socket": SOCKET}
    session = Session()
    # The learner's code learns the sandbox's device as the driver did (graders/pipeline.py).
    device_env = {"SKILLFORGE_DEVICE": batchcheck.sandbox_device(),
                  "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
    learner = asyncio.create_task(h.run_learner(["python3", "-I", "-c", RUNNER_SOURCE], timeout=timeout,
                                                env={**THREADS_ENV, **device_env}, stdin=json.dumps(config).encode(),
                                                output_cap=64 * 1024))
    try:
        await asyncio.to_thread(phase, session, server, *args)
    finally:
        server.close()
        os.unlink(SOCKET)
    try:  # after BYE the runner exits by itself; one that lingers is stopped
        run = await asyncio.wait_for(asyncio.shield(learner), 10.0)
    except TimeoutError:
        h.kill_learner_processes()
        run = await learner
    if session.timed_out and run.termination == "ok":  # we stopped it: say which limit it ran past
        run = replace(run, termination="timeout", exit_code=None, timeout=session.timed_out)
    return run


def padded(answers: list[Any], n: int, missing: Any = None) -> list[Any]:
    """The answers to n requests, None for those never asked (the process died, or never started)."""
    return [*answers[:n], *[missing] * (n - len(answers))]


def observe(oracle: Oracle, work: Work) -> dict[str, Any]:
    notes = work.notes
    shards = len(work.shard_masks)
    work.ann = padded(work.ann, len(work.timed))
    work.exact_ans = padded(work.exact_ans, len(work.exact))
    work.shard_ans = padded(work.shard_ans, len(work.exact), [None] * shards)
    work.filtered_ans = padded(work.filtered_ans, len(work.filtered))
    pairs = ([(q, None) for q in work.timed] + [(q, m) for q in work.exact for m in [None, *work.shard_masks]]
             + list(zip(work.filtered, work.masks, strict=True)))
    truths = oracle.top(np.array([q for q, _ in pairs]), [m for _, m in pairs], K)
    timed_truth = truths[:len(work.timed)]
    exact_truth = truths[len(work.timed):len(work.timed) + len(work.exact) * (shards + 1)]
    filtered_truth = truths[len(work.timed) + len(work.exact) * (shards + 1):]

    answered = [a is not None for a in work.ann]
    recall = float(np.mean([oracle.recall(q, a, t, K) for q, a, t in zip(work.timed, work.ann, timed_truth, strict=True)]))
    notes.append(f"recall@10: {recall:.4f} over {len(work.timed)} queries ({sum(answered)} answered; bar {RECALL_BAR})")
    cpu_speedup = wall_speedup = 0.0
    if work.learner_s and all(answered):
        base_wall, mine_wall = statistics.median(work.baseline_s), statistics.median(work.learner_s)
        wall_speedup = base_wall / mine_wall
        n = len(work.learner_s)
        base_cpu, mine_cpu = work.baseline_cpu / n, work.learner_cpu / n
        if work.learner_idle_cpu > IDLE_CPU_SHARE * work.baseline_cpu:
            work.cpu_problem = work.cpu_problem or (
                f"your process used {work.learner_idle_cpu * 1e3:.0f} ms of CPU while no query was pending; "
                "a store must not work in the background while it is being timed")
        if work.cpu_problem or mine_cpu <= 0:
            notes.append(f"speed: CPU time not measured: {work.cpu_problem or 'no CPU time seen'}")
        else:
            cpu_speedup = base_cpu / mine_cpu
            notes.append(f"speed (CPU time per query): baseline {base_cpu * 1e3:.2f} ms ({1 / base_cpu:.0f} QPS per core), "
                         f"yours {mine_cpu * 1e3:.3f} ms ({1 / mine_cpu:.0f} QPS per core): {cpu_speedup:.1f}x "
                         f"(bar {SPEEDUP_BAR:g}x); CPU while idle: {work.learner_idle_cpu * 1e3:.0f} ms")
        notes.append(f"latency (wall clock, median): baseline {base_wall * 1e3:.2f} ms, yours {mine_wall * 1e3:.3f} ms "
                     f"(p95 {float(np.percentile(work.learner_s, 95)) * 1e3:.3f} ms): {wall_speedup:.1f}x "
                     f"(bar {WALL_BAR:g}x)")
    else:
        notes.append("speed: not measured (not every timed query was answered)")

    filtered_exact = sum(oracle.exact(q, a, t, m) for q, a, t, m in
                         zip(work.filtered, work.filtered_ans, filtered_truth, work.masks, strict=True))
    notes.append(f"filtered: {filtered_exact} of {len(work.filtered)} exactly right")
    shard_ok = merged_ok = 0
    for i, (q, per_shard, merged) in enumerate(zip(work.exact, work.shard_ans, work.exact_ans, strict=True)):
        whole, *parts = exact_truth[i * (shards + 1):(i + 1) * (shards + 1)]
        each = all(oracle.exact(q, s, t, m) for s, t, m in zip(per_shard, parts, work.shard_masks, strict=True))
        merged_right = oracle.exact(q, merged, whole)
        merged_ok += merged_right
        shard_ok += each and merged_right
    notes.append(f"sharding: {merged_ok} of {len(work.exact)} merged exact answers equal the unsharded exact answer; "
                 f"{shard_ok} also had every shard exact over its own rows (id % {shards})")

    before = [*work.ann[:RELOAD_ANN], *work.exact_ans, *work.filtered_ans]
    after = [*work.ann2, *work.exact2, *work.filtered2]
    same = sum(a is not None and a == b for a, b in zip(before, after, strict=False))
    notes.append(f"reload: {same} of {len(before)} answers identical after save and load")
    return {
        "recall_ok": recall >= RECALL_BAR,
        "speedup_ok": bool(cpu_speedup >= SPEEDUP_BAR and wall_speedup >= WALL_BAR),
        "filtered_exact": filtered_exact,
        "shard_merge_exact": shard_ok,
        "reload_same": same,
    }


def combined(runs: list[tuple[str, h.LearnerRun | None]], notes: list[str]) -> h.LearnerRun:
    """One log for the report: each process's output tail, then what the grader saw."""
    parts, termination, exit_code, timeout = [], "ok", 0, 0.0
    for name, run in runs:
        if run is None:
            continue
        timeout += run.timeout
        tail = h.log_tail(run)[-1200:]
        parts.append(f"--- {name} process ---\n{tail}" if tail else f"--- {name} process: no output ---")
        if run.termination != "ok" and termination == "ok":
            termination, timeout = run.termination, run.timeout
        if run.exit_code not in (0, None) and exit_code == 0:
            exit_code = run.exit_code
    text = "\n".join(parts) + "\n[grader] " + "\n[grader] ".join(notes)
    return h.LearnerRun(exit_code if termination == "ok" else None, b"", text.encode(), termination, 0.0, timeout)


async def grade() -> None:
    world = World(WORLD_SEED)
    ds = world.dataset(N)
    write_dataset(ds)
    queries = world.queries(WARMUP + TIMED + EXACT_QUERIES + len(FILTERS), QUERY_SEED)
    a, b, c = WARMUP, WARMUP + TIMED, WARMUP + TIMED + EXACT_QUERIES
    work = Work(warmup=queries[:a], timed=queries[a:b], exact=queries[b:c], filtered=queries[c:],
                masks=[matches(f, ds.metadata) for f in FILTERS],
                shard_masks=[ds.ids % NUM_SHARDS == i for i in range(NUM_SHARDS)])
    config = {"dim": DIM, "num_shards": NUM_SHARDS, "data_dir": DATA_DIR, "index_dir": INDEX_DIR}
    build = await run_phase(build_phase, {**config, "mode": "build"}, BUILD_PROCESS_TIMEOUT, ds.vectors, work)
    h.kill_learner_processes()  # nothing of the first process may survive into the second
    shutil.rmtree(DATA_DIR, ignore_errors=True)  # the reloaded store has only what save() wrote
    reload = None
    if work.saved:
        reload = await run_phase(reload_phase, {**config, "mode": "load"}, RELOAD_PROCESS_TIMEOUT, work)
    else:
        work.notes.append("reload: skipped, the store was not saved")
    h.kill_learner_processes()
    batch_work = batchcheck.BatchWork(world, ds)
    batchcheck.write_batch(batch_work)
    batch = await run_phase(batchcheck.batch_phase, {**config, "mode": "batch", "batch_dir": batchcheck.BATCH_DIR, "k": K},
                            batchcheck.BATCH_PROCESS_TIMEOUT, batch_work)
    obs = observe(Oracle(ds.ids, ds.vectors), work)
    obs.update(batchcheck.observe_batch(batch_work, work.notes))
    h.emit(obs, combined([("build", build), ("reload", reload), ("batch", batch)], work.notes))


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

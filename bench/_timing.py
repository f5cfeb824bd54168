"""Timers around the real grading path, for bench/breakdown.py: measurement only.

Installed in a real gunicorn worker (as a gunicorn config file: `-c bench/_timing.py`)
and in a real Celery worker (bench/_timed_worker.py). Each wraps the functions the
path already calls, unchanged, and appends one JSON line per request or task to the
file named by SF_BENCH_TIMINGS: {"where": "web"|"worker", "attempt": id, "phases": {name: seconds},
"marks": {name: unix time}}.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_local = threading.local()


def _record() -> dict[str, Any]:
    rec = getattr(_local, "rec", None)
    if rec is None:
        rec = _local.rec = {"phases": {}, "marks": {}, "attempt": None}
    return rec


def _add(name: str, seconds: float) -> None:
    phases = _record()["phases"]
    phases[name] = phases.get(name, 0.0) + seconds


def mark(name: str) -> None:
    _record()["marks"][name] = time.time()


def flush(where: str) -> None:
    rec = getattr(_local, "rec", None)
    _local.rec = None
    if rec is None or rec["attempt"] is None:
        return
    line = json.dumps({"where": where, **rec}) + "\n"
    with open(os.environ["SF_BENCH_TIMINGS"], "a", encoding="utf-8") as fh:
        fh.write(line)


def timed(owner: Any, name: str, phase: str, *, after: Callable[[Any], None] | None = None) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            result = original(*args, **kwargs)
        finally:
            _add(phase, time.perf_counter() - start)
        if after is not None:
            after(result)
        return result

    setattr(owner, name, wrapper)


def timed_context(owner: Any, name: str, enter: str, exit_: str) -> None:
    """A context manager function: time its set-up and its clean-up separately."""
    original = getattr(owner, name)

    @contextlib.contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        start = time.perf_counter()
        with original(*args, **kwargs) as value:
            _add(enter, time.perf_counter() - start)
            try:
                yield value
            finally:
                start = time.perf_counter()
        _add(exit_, time.perf_counter() - start)

    setattr(owner, name, wrapper)


# --- the web side (API submit) ------------------------------------------------------------


def install_web() -> None:
    from django.core.signals import request_finished, request_started

    from submissions import services

    def submitted(submission: Any) -> None:
        attempt = submission.latest_attempt
        _record()["attempt"] = attempt.pk if attempt else None

    timed(services, "_store_files", "intake")
    timed(services, "enqueue", "enqueue")
    timed(services, "submit", "submit", after=submitted)
    original_enqueue = services.enqueue

    def enqueue(**kwargs: Any) -> None:
        original_enqueue(**kwargs)
        mark("enqueued")

    services.enqueue = enqueue
    request_started.connect(lambda **_: (_local.__dict__.pop("rec", None), mark("request_started")), weak=False)

    def finished(**_: Any) -> None:
        mark("request_finished")
        flush("web")

    request_finished.connect(finished, weak=False)


# --- the worker side (claim, sandbox, report, DB) ----------------------------------------------


def install_worker() -> None:
    from celery.signals import task_postrun, task_prerun

    import sandbox
    from catalog.models import LabVersion
    from graders import pipeline
    from sandbox import bwrap_backend, cgroups, docker_backend, pool, seccomp, staging
    from submissions import services

    timed(services, "claim", "claim")
    timed(services, "_grade_claimed", "claimed")
    timed(services, "run_grading", "run_grading")
    timed(services, "grade", "grade")
    timed(pipeline, "host_observations", "host")
    timed(sandbox, "backend", "pick")
    timed(LabVersion, "load_spec", "spec")
    timed(services, "_finish", "finish")
    timed(services, "_issue_credential", "credential")
    timed(services, "_record_metrics", "metrics")
    timed(services, "validate_report", "parse")
    for name in ("read_observations", "evaluate", "assemble"):
        timed(pipeline, name, "parse")
    timed(pipeline, "tree_hash", "hash")
    timed(pipeline, "trusted_payload", "trusted")
    timed(staging, "make_dirs", "stage")
    timed(staging, "fill", "stage")
    timed(bwrap_backend, "collect_returns", "collect")
    timed(staging, "collect_returns", "collect")
    # sandbox acquire: bubblewrap makes a cgroup, mounts two tmpfs and loads seccomp;
    # Docker takes a started container from the pool (or makes one cold)
    timed(cgroups.Group, "create", "acquire")
    timed(seccomp, "pipe_with_program", "acquire")
    timed_context(bwrap_backend, "_scratch", "acquire", "teardown")
    timed(cgroups.Group, "remove", "teardown")
    timed(staging, "remove", "teardown")
    timed(pool.Pool, "take", "acquire")
    timed(docker_backend, "prepare", "acquire")
    timed(docker_backend, "destroy_later", "teardown")
    for module in (bwrap_backend, docker_backend):
        timed(module, "run", "runner")
    sandbox.BACKENDS.update(docker=docker_backend.run, bubblewrap=bwrap_backend.run)

    def prerun(task_id: str, task: Any, args: tuple[Any, ...], **_: Any) -> None:
        _local.__dict__.pop("rec", None)
        mark("task_started")
        _record()["attempt"] = args[0] if args else None
        _local.task_start = time.perf_counter()

    def postrun(**_: Any) -> None:
        _add("task", time.perf_counter() - _local.task_start)
        mark("task_finished")
        flush("worker")

    task_prerun.connect(prerun, weak=False)
    task_postrun.connect(postrun, weak=False)


# gunicorn reads this file as its config: install the web timers once the app is loaded.
def post_worker_init(worker: Any) -> None:
    install_web()

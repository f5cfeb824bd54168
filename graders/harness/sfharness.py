"""The trusted side inside a sandbox: run the learner's code as another user, observe it,
and write observations for the host to score. Standard library only; mounted read-only
at /grader/sfharness.py next to the lab's driver, where the learner's user cannot read.

A driver (labs/<slug>/checks/driver/driver.py) does:

    import sfharness as h
    h.prepare_workspace()                       # /submission -> /work, as the learner
    run = await h.run_learner(["python3", "-I", "main.py"], timeout=20)
    h.emit({"correct_results": 12, ...}, run)   # /out/observations.json

Verdicts are never taken from the learner's process: the driver records what it saw
(requests served, timings, bytes), and the host compares that with thresholds and
expectations that never enter the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from dataclasses import dataclass
from typing import Any

LEARNER_UID = int(os.environ.get("SF_LEARNER_UID", "1002"))
OUT = "/out/observations.json"
LOG_TAIL = 4000  # characters of the learner's output kept for feedback

# Clear inheritable and ambient capabilities, then switch user: the learner's exec
# starts with no capabilities (see sandbox/identity.py for the driver's side).
LEARNER_PREFIX = (
    "setpriv",
    f"--reuid={LEARNER_UID}",
    f"--regid={LEARNER_UID}",
    "--clear-groups",
    "--inh-caps=-all",
    "--ambient-caps=-all",
    "--",
)

LEARNER_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    # Which device the sandbox has (graders/pipeline.py sets them): learner code may use a GPU.
    **{name: os.environ[name] for name in ("SKILLFORGE_DEVICE", "CUDA_VISIBLE_DEVICES") if name in os.environ},
}


@dataclass
class LearnerRun:
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    termination: str  # ok | timeout | output_limit
    wall_seconds: float
    timeout: float  # the limit the driver gave it, quoted back to the learner

    def describe(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "termination": self.termination, "timeout": self.timeout,
                "log": log_tail(self)}


def log_tail(run: LearnerRun) -> str:
    text = (run.stdout + b"\n" + run.stderr).decode("utf-8", "replace").strip()
    return text[-LOG_TAIL:]


async def _read_capped(stream: asyncio.StreamReader, cap: int, over: asyncio.Event) -> bytes:
    """Keep at most cap bytes, but read to the end: on a pipe nobody drains the writer
    blocks, and wait() would then wait for the wall clock instead of our kill."""
    buf = bytearray()
    while chunk := await stream.read(65536):
        room = cap - len(buf)
        if room > 0:
            buf += chunk[:room]
        if len(chunk) > room:
            over.set()
    return bytes(buf)


async def run_learner(
    argv: list[str],
    *,
    timeout: float,
    cwd: str = "/work",
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    output_cap: int = 256 * 1024,
) -> LearnerRun:
    """Run argv as the learner's user; kill its whole process group on timeout or flood."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *LEARNER_PREFIX,
        *argv,
        cwd=cwd,
        env={**LEARNER_ENV, **(env or {})},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    over = asyncio.Event()
    assert proc.stdin and proc.stdout and proc.stderr
    if stdin:
        proc.stdin.write(stdin)
    proc.stdin.close()
    readers = asyncio.gather(_read_capped(proc.stdout, output_cap, over), _read_capped(proc.stderr, output_cap, over))
    termination = await _wait_exit(proc, over, deadline=started + timeout)
    kill_group(proc.pid)  # the limit was hit, or children it left behind
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(readers), 1.0)
    except TimeoutError:
        kill_learner_processes()  # one that left its group (setsid) still holds the pipes
        stdout, stderr = await readers
    await proc.wait()
    code = proc.returncode if termination == "ok" else None
    return LearnerRun(code, stdout, stderr, termination, time.monotonic() - started, timeout)


async def _wait_exit(proc: asyncio.subprocess.Process, over: asyncio.Event, *, deadline: float) -> str:
    """ok | timeout | output_limit: whichever comes first.

    Watches the exit status rather than awaiting wait(): on Python 3.11 wait() also waits
    for the pipes to close, which a leftover daemon holding them can put off for ever. A
    pidfd wakes us the moment the process ends (polling every 20 ms cost ~25 ms a grade);
    the child watcher then reaps it within a millisecond or two."""
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    pidfd: int | None = None
    try:
        pidfd = os.pidfd_open(proc.pid)
        loop.add_reader(pidfd, exited.set)
    except OSError:  # already reaped (returncode is set), or a kernel without pidfds
        if pidfd is not None:
            os.close(pidfd)
            pidfd = None
    waiters = [asyncio.ensure_future(over.wait()), asyncio.ensure_future(exited.wait())]
    try:
        while True:
            if over.is_set():
                return "output_limit"
            if proc.returncode is not None:
                return "ok"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            step = 0.001 if pidfd is None or exited.is_set() else remaining
            await asyncio.wait(waiters, timeout=min(step, remaining), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        if pidfd is not None:
            loop.remove_reader(pidfd)
            os.close(pidfd)


def kill_learner_processes() -> None:
    """SIGKILL every process of the learner's user in this sandbox."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                uid = next(line.split()[1] for line in fh if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid) == LEARNER_UID:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def prepare_workspace() -> LearnerRun:
    """Copy the submission into the writable /work, as the learner (who then owns it).

    Where the lab takes notebooks and one came instead of the module, execute it (for
    its outputs) and export its definitions to the module (see sfnotebook.py)."""
    run = asyncio.run(run_learner(["cp", "-R", "/submission/.", "/work/"], timeout=30))
    import sfnotebook  # next to this file in /grader

    config = sfnotebook.NotebookConfig.from_env()
    if config is not None:
        sfnotebook.prepare(config, run_learner, kill_learner_processes)
    return run


def emit(observations: dict[str, Any], run: LearnerRun | None = None) -> None:
    """Write the observations document for the host. Called once, at the end."""
    doc = {"observations": observations, "learner": run.describe() if run else None}
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, sort_keys=True, allow_nan=False)
    os.replace(tmp, OUT)

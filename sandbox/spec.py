"""The sandbox contract: what a run is asked to do (RunSpec) and what it observed (RunResult).

Everything here is plain data so a backend, a test or a benchmark can build one by hand.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024

# Who runs what inside every sandbox, in both backends. The command of a RunSpec starts
# as DRIVER_UID holding only CAP_SETUID/SETGID/KILL, so a trusted driver can start the
# learner's code as LEARNER_UID with no capabilities at all (see identity.learner_argv).
DRIVER_UID = 1001
LEARNER_UID = 1002

# Fixed mount points inside a sandbox. /grader and /out belong to the driver and are
# unreadable to the learner's user; /submission is world-readable and read-only;
# /work and /tmp are size-limited tmpfs the learner may write.
GRADER_DIR = "/grader"
SUBMISSION_DIR = "/submission"
WORK_DIR = "/work"
OUT_DIR = "/out"


class Termination(enum.StrEnum):
    """Why a run ended. A closed set: graders map each to a learner-facing message."""

    OK = "ok"  # the command exited by itself (any exit code)
    TIMEOUT = "timeout"  # wall clock or CPU seconds ran out
    MEMORY = "memory"  # killed by the memory limit
    OUTPUT_LIMIT = "output_limit"  # printed more than limits.output_bytes
    PIDS = "pids"  # hit the process limit
    KILLED = "killed"  # ended by a signal we did not send for a limit
    SANDBOX_ERROR = "sandbox_error"  # the sandbox itself failed; the learner is not at fault


class SandboxUnavailable(RuntimeError):
    """No backend can run sandboxes here. We refuse to grade rather than run unsandboxed."""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 60.0
    cpu_seconds: float = 60.0
    memory_bytes: int = 512 * MiB
    pids: int = 128
    disk_bytes: int = 64 * MiB  # each of the writable tmpfs mounts (/work, /tmp)
    files: int = 10_000  # files and folders in each of them (tmpfs inodes)
    output_bytes: int = 1 * MiB  # stdout and stderr, each; more ends the run
    return_bytes: int = 1 * MiB  # each returned file under /out

    def capped(self, ceiling: Limits) -> Limits:
        """These limits, none above the platform's ceiling (authors cannot raise them)."""
        return Limits(
            wall_seconds=min(self.wall_seconds, ceiling.wall_seconds),
            cpu_seconds=min(self.cpu_seconds, ceiling.cpu_seconds),
            memory_bytes=min(self.memory_bytes, ceiling.memory_bytes),
            pids=min(self.pids, ceiling.pids),
            disk_bytes=min(self.disk_bytes, ceiling.disk_bytes),
            files=min(self.files, ceiling.files),
            output_bytes=min(self.output_bytes, ceiling.output_bytes),
            return_bytes=min(self.return_bytes, ceiling.return_bytes),
        )


# The platform-wide ceilings no lab.toml can exceed.
CEILING = Limits(
    wall_seconds=600.0,
    cpu_seconds=600.0,
    memory_bytes=4096 * MiB,
    pids=512,
    disk_bytes=512 * MiB,
    files=100_000,
    output_bytes=8 * MiB,
    return_bytes=4 * MiB,
)


@dataclass(frozen=True)
class RunSpec:
    image: str  # e.g. "skillforge/lab-python"; bubblewrap maps it to a built rootfs
    command: tuple[str, ...]  # runs as DRIVER_UID, cwd /work
    submission: Path | None = None  # host folder, mounted read-only at /submission
    trusted: Path | None = None  # host folder, read-only at /grader, driver-only
    returns: tuple[str, ...] = ()  # file names under /out the host takes back
    limits: Limits = field(default_factory=Limits)
    network: str = "none"  # the only value accepted today: deny by default
    gpus: tuple[str, ...] = ()  # device ids passed through (gpu queue only)
    env: Mapping[str, str] = field(default_factory=dict)  # the whole environment inside

    def __post_init__(self) -> None:
        if self.network != "none":
            raise ValueError("sandboxes have no network; network must be 'none'")
        if not self.command:
            raise ValueError("RunSpec.command is empty")
        for name in self.returns:
            if "/" in name or name in {"", ".", ".."}:
                raise ValueError(f"returned file names are plain names, got {name!r}")


@dataclass(frozen=True)
class RunResult:
    termination: Termination
    exit_code: int | None
    stdout: bytes
    stderr: bytes
    files: Mapping[str, bytes]  # returned files that passed the checks
    refused: Mapping[str, str]  # returned file name -> why it was refused
    wall_seconds: float
    cpu_seconds: float | None
    peak_memory_bytes: int | None
    backend: str
    image_digest: str
    message: str = ""  # detail for sandbox_error, for operators' logs

    @property
    def ok(self) -> bool:
        return self.termination is Termination.OK

    @classmethod
    def failed(cls, backend: str, message: str, started: float, digest: str = "") -> RunResult:
        """A run the sandbox itself could not carry out (started: a time.monotonic())."""
        import time

        return cls(
            termination=Termination.SANDBOX_ERROR,
            exit_code=None,
            stdout=b"",
            stderr=b"",
            files={},
            refused={},
            wall_seconds=time.monotonic() - started,
            cpu_seconds=None,
            peak_memory_bytes=None,
            backend=backend,
            image_digest=digest,
            message=message,
        )

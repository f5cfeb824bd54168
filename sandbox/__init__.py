"""Run untrusted code: `run(RunSpec) -> RunResult`, on Docker or bubblewrap.

Pure Python with no Django import. `backend()` picks Docker when an engine answers,
else bubblewrap, else raises SandboxUnavailable: nothing ever runs unsandboxed.
SKILLFORGE_SANDBOX=docker|bubblewrap|auto chooses explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from . import bwrap_backend, docker_backend
from .spec import (
    CEILING,
    DRIVER_UID,
    LEARNER_UID,
    Limits,
    RunResult,
    RunSpec,
    SandboxUnavailable,
    Termination,
)

__all__ = [
    "CEILING",
    "DRIVER_UID",
    "LEARNER_UID",
    "Limits",
    "RunResult",
    "RunSpec",
    "SandboxUnavailable",
    "Termination",
    "backend",
    "run",
]

Runner = Callable[[RunSpec], RunResult]
BACKENDS: dict[str, Runner] = {"docker": docker_backend.run, "bubblewrap": bwrap_backend.run}


def backend(name: str | None = None) -> tuple[str, Runner]:
    """The backend to use: by name, or the first that works here for 'auto'."""
    name = name or os.environ.get("SKILLFORGE_SANDBOX", "auto")
    if name == "auto":
        if docker_backend.available():
            return "docker", docker_backend.run
        if bwrap_backend.available():
            return "bubblewrap", bwrap_backend.run
        raise SandboxUnavailable(
            "no sandbox backend here: start a Docker engine, or install bubblewrap and run as root"
        )
    if name not in BACKENDS:
        raise SandboxUnavailable(f"unknown sandbox backend {name!r}; use docker, bubblewrap or auto")
    available = docker_backend.available if name == "docker" else bwrap_backend.available
    if not available():
        raise SandboxUnavailable(f"the {name} sandbox backend is not available on this machine")
    return name, BACKENDS[name]


def run(spec: RunSpec, backend_name: str | None = None) -> RunResult:
    return backend(backend_name)[1](spec)

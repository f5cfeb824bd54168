"""Starting and stopping real Celery worker processes for the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def start_worker(worker_env: dict[str, str], log_path: Path, name: str = "test") -> subprocess.Popen:
    """A `celery worker --pool solo` process on the test database; returns once it is ready."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(worker_env, PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]), DEBUG="1")
    command = [sys.executable, "-m", "celery", "-A", "skillforge", "worker", "-Q", "cpu,gpu", "--pool", "solo",
               "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
               "--hostname", f"{name}-{os.getpid()}@%h"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the Celery worker did not start:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.1)
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()  # warm shutdown
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

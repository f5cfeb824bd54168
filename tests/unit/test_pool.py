"""The pre-warmed pool of single-use Docker sandboxes, against a real engine."""

from __future__ import annotations

import time

import pytest

from sandbox import Limits, RunSpec, Termination, docker_backend
from sandbox.pool import Pool

IMAGE = "skillforge/lab-python"
KEY = (IMAGE, Limits(wall_seconds=20), ())


def wait_ready(pool: Pool, n: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while pool.ready(KEY) < n:
        assert time.monotonic() < deadline, f"pool never had {n} ready slots"
        time.sleep(0.05)


@pytest.fixture
def pool(docker_runner):
    pool = docker_backend.configure_pool(2)
    yield pool
    docker_backend.configure_pool(0)


def test_size_zero_disables_the_pool():
    calls = []
    pool = Pool(0, make=lambda key: calls.append(key), alive=lambda s: True, destroy=lambda s: None)
    pool.warm("k")
    assert pool.take("k") is None and calls == []


def test_pool_fills_to_its_size_and_refills_after_a_take(pool):
    docker_backend.warm(*KEY)
    wait_ready(pool, 2)
    time.sleep(0.3)
    assert pool.ready(KEY) == 2, "bounded: never more than size"
    slot = pool.take(KEY)
    assert slot is not None and docker_backend.alive(slot)
    docker_backend.destroy(slot)
    wait_ready(pool, 2)


def test_each_sandbox_is_used_once(pool):
    docker_backend.warm(*KEY)
    wait_ready(pool, 2)
    spec = RunSpec(image=IMAGE, command=("sh", "-c", "ls -A /tmp /work; echo secret > /tmp/left; hostname"),
                   limits=KEY[1])
    first = docker_backend.run(spec)
    second = docker_backend.run(spec)
    assert first.termination is Termination.OK and second.termination is Termination.OK
    assert b"left" not in second.stdout, "a later run sees nothing of an earlier one"
    assert first.stdout.split()[-1] != second.stdout.split()[-1], "two different containers"
    docker_backend.drain()
    mine = {"label": f"{docker_backend.OWNER}={docker_backend._owner()}"}
    ids = set(docker_backend.sandboxes(mine["label"]))
    assert len(ids) <= 2, "used sandboxes are destroyed; only ready ones remain"


def test_dead_slots_are_dropped_and_the_pool_recovers(pool):
    docker_backend.warm(*KEY)
    wait_ready(pool, 2)
    for slot in list(pool._ready[KEY]):
        slot.container.kill()  # as an engine restart would leave them
    result = docker_backend.run(RunSpec(image=IMAGE, command=("true",), limits=KEY[1]))
    assert result.termination is Termination.OK
    wait_ready(pool, 2)
    assert all(docker_backend.alive(s) for s in pool._ready[KEY])


def test_close_destroys_ready_slots(docker_runner):
    pool = docker_backend.configure_pool(2)
    docker_backend.warm(*KEY)
    wait_ready(pool, 2)
    ids = [s.container.id for s in pool._ready[KEY]]
    docker_backend.configure_pool(0)
    remaining = set(docker_backend.sandboxes())
    assert not remaining & set(ids)


def test_orphans_of_a_dead_process_are_swept(docker_runner, monkeypatch):
    monkeypatch.setattr(docker_backend, "_owner", lambda: f"{docker_backend.socket.gethostname()}:4194303")  # no such pid
    slot = docker_backend.prepare(KEY)
    try:
        assert docker_backend.sweep_orphans() >= 1
        with pytest.raises(Exception):
            slot.container.reload()
    finally:
        docker_backend.destroy(slot)


def test_a_process_that_exits_takes_its_ready_sandboxes_with_it(docker_runner):
    import subprocess
    import sys

    code = (
        "import sys, time; sys.path.insert(0, '.')\n"
        "from sandbox import docker_backend, Limits\n"
        "pool = docker_backend.configure_pool(2)\n"
        "docker_backend.warm('skillforge/lab-python', Limits(wall_seconds=20))\n"
        "while pool.ready(('skillforge/lab-python', Limits(wall_seconds=20), ())) < 2: time.sleep(0.05)\n"
        "import os; print(os.getpid())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    owner = f"{docker_backend.socket.gethostname()}:{done.stdout.strip()}"
    assert docker_backend.sandboxes(f"{docker_backend.OWNER}={owner}") == {}

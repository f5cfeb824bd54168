"""Sandbox start-up cost, side by side in one run (30 repetitions each by default):

  host        python3 -I -S -c pass, no sandbox at all (the floor)
  bubblewrap  sandbox.run on the bubblewrap backend
  docker run  the CLI's `docker run --rm --network none IMAGE python3 -c pass`
  docker      sandbox.run on the Docker backend, cold (create, start, exec, destroy)
  pool        sandbox.run on the Docker backend with a warm pool of 2

    .venv/bin/python bench/sandbox.py [--n 30]

Prints median and p95 per path and each median's ratio to `docker run`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import Limits, RunSpec, bwrap_backend, docker_backend  # noqa: E402

IMAGE = "skillforge/lab-python"
LIMITS = Limits(wall_seconds=30)
SPEC = RunSpec(image=IMAGE, command=("python3", "-c", "pass"), limits=LIMITS)


def timed(fn: Callable[[], object], n: int, between: Callable[[], None] = lambda: None) -> list[float]:
    fn()  # warm caches once
    times = []
    for _ in range(n):
        between()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def check(result: object) -> None:
    assert getattr(result, "ok", False), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    n = parser.parse_args().n
    rows: dict[str, list[float]] = {}
    host = [sys.executable, "-I", "-S", "-c", "pass"]
    rows["host python3 -c pass (no sandbox)"] = timed(lambda: subprocess.run(host, check=True), n)
    rows["bubblewrap (sandbox.run)"] = timed(lambda: check(bwrap_backend.run(SPEC)), n)
    rows["docker run --rm --network none"] = timed(
        lambda: subprocess.run(["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c", "pass"],
                               check=True, stdout=subprocess.DEVNULL), n)
    docker_backend.configure_pool(0)
    rows["docker, cold (sandbox.run)"] = timed(lambda: check(docker_backend.run(SPEC)), n)
    pool = docker_backend.configure_pool(2)
    key = (IMAGE, LIMITS, ())
    docker_backend.warm(IMAGE, LIMITS)

    def refilled() -> None:  # measure a warm take, as a worker between submissions sees it
        deadline = time.monotonic() + 30
        while pool.ready(key) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)

    rows["docker, pool (sandbox.run)"] = timed(lambda: check(docker_backend.run(SPEC)), n, between=refilled)
    docker_backend.configure_pool(0)

    base = statistics.median(rows["docker run --rm --network none"])
    one, five, fifteen = os.getloadavg()
    print(f"n={n} per path; ratio = median / median of `docker run`; load average {one:.2f} {five:.2f} {fifteen:.2f}")
    print(f"{'path':34} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    for name, values in rows.items():
        p95 = sorted(values)[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        med = statistics.median(values)
        print(f"{name:34} {med * 1000:10.1f} {p95 * 1000:8.1f} {med / base:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

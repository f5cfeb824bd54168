"""Worker memory over many grades: does the grading process's RSS stay flat?

One real worker (`./sf worker`, celery --pool solo) grades N trivial submissions (queued
at once, after a warm-up of 20); its RSS is sampled while it works (USS is not: while the
worker forks a sandbox the pages it shares with the child do not count as its own).
Printed at every tenth of the run, with the growth from the first tenth (the baseline,
once imports and caches are warm) to the largest later sample. Target: within 10%.

    .venv/bin/python bench/memory.py [--n 200] [--backend bubblewrap]
    .venv/bin/python bench/memory.py --n 1000                      # the issue's full size
"""

from __future__ import annotations

import argparse

import psutil
from _stack import Stack, load, queue_burst, table, wait_done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--backend", default="bubblewrap", choices=("bubblewrap", "docker", "auto"))
    args = parser.parse_args()
    from sandbox import backend as pick

    backend = pick(args.backend)[0]
    samples: list[tuple[int, int]] = []  # graded so far, rss
    with Stack(labs=["tiny-answer"], backend=backend) as stack:
        proc = stack.start_worker_processes(1)  # `./sf worker` execs celery: this pid is the worker
        worker = psutil.Process(proc.pid)
        wait_done(queue_burst(20)[0], timeout=300)  # warm-up

        def sample(done: int) -> None:
            samples.append((done, worker.memory_info().rss))

        ids, _ = queue_burst(args.n)
        wait_done(ids, timeout=args.n * 5, progress=sample)
        sample(args.n)
    rows = []
    for tenth in range(1, 11):
        want = args.n * tenth // 10
        done, rss = min(samples, key=lambda s: abs(s[0] - want))
        rows.append((f"after {done} grades", rss / 2**20))
    base_rss = rows[0][1]
    peak_rss = max(r[1] for r in rows[1:])
    growth = (peak_rss - base_rss) / base_rss
    print(f"one worker ({backend}), {args.n} trivial grades after 20 warm-up; {load()}")
    print(table(["", "RSS MiB"], rows, first=24))
    print(f"target RSS flat within 10%: first tenth {base_rss:.1f} MiB, largest later {peak_rss:.1f} MiB, "
          f"{100 * growth:+.1f}%: {'holds' if abs(growth) <= 0.10 else 'MISSES'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput: N trivial submissions queued at once, graded by real workers.

For each worker count P (`./sf worker --processes P`, each a `celery --pool solo`
process), N accepted submissions of the trivial lab (tiny-answer) are created in one
transaction, so all N enqueues reach Redis in one burst at its commit; then we wait
until every one is graded. Reported per P: grades per minute (N / (last grade's commit
- the burst)), queue wait p50/p95 (the burst -> the worker's claim), grading time p50
(claim -> commit), errors, and what the CPU was spent on: the workers with their
sandboxes, the PostgreSQL backends of our database, and the whole machine's busy share
(other people's work included: the machine is shared). The bound follows from those.

Beside it, the baseline the issue names: the same grade with a naive `docker run` per
job, two at a time (one per core), for N/4 jobs.

    .venv/bin/python bench/throughput.py [--n 120] [--processes 1,2,3] [--backend bubblewrap]
    .venv/bin/python bench/throughput.py --n 600 --processes 2     # the issue's full size
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor

from _stack import (
    Stack,
    database_cpu,
    lab_dir,
    load,
    machine_cpu,
    p50,
    pct,
    queue_burst,
    table,
    tree_cpu,
    wait_done,
)

from graders import grade, load_lab


def burst(stack: Stack, n: int) -> dict[str, float]:
    from submissions.models import Attempt

    db = stack.database_url.rsplit("/", 1)[-1]
    pids = [p.pid for p in stack.workers]
    cpu0, db0, (busy0, total0) = tree_cpu(pids), database_cpu(db), machine_cpu()
    load0 = os.getloadavg()[0]
    ids, sent = queue_burst(n)
    wait_done(ids, timeout=max(600, n * 3))
    cpu1, db1, (busy1, total1) = tree_cpu(pids), database_cpu(db), machine_cpu()
    rows = list(Attempt.objects.filter(pk__in=ids).values_list("status", "started_at", "finished_at"))
    # a sandbox's CPU is read from its cgroup (the report's run facts): processes in a new pid
    # namespace do not hand their CPU time up to the worker that started bwrap
    sandbox = [r["run"]["cpu_seconds"] or 0.0 for r in Attempt.objects.filter(pk__in=ids).values_list("report", flat=True)
               if r]
    waits = [s.timestamp() - sent for _, s, _ in rows if s]
    grading = [(f - s).total_seconds() for _, s, f in rows if s and f]
    last = max(f.timestamp() for _, _, f in rows)
    wall = last - sent
    return {
        "per_min": n / wall * 60, "wall": wall, "wait50": p50(waits), "wait95": pct(waits, 0.95),
        "grade50": p50(grading), "errors": sum(st != "graded" for st, _, _ in rows),
        "worker_cpu": (cpu1 - cpu0) / n, "db_cpu": (db1 - db0) / n, "sandbox_cpu": sum(sandbox) / n,
        "busy": (busy1 - busy0) / (total1 - total0), "load": (load0 + os.getloadavg()[0]) / 2,
    }


def docker_run_baseline(n: int) -> dict[str, float]:
    from grade_latency import docker_run

    lab = load_lab(lab_dir("tiny-answer"))

    def one(_: int) -> float:
        report = grade(lab, lab.solution_dir, runner=docker_run)
        assert report.score == 1.0, report.summary
        return time.time()

    start = time.time()
    with ThreadPoolExecutor(max_workers=2) as pool:
        ends = list(pool.map(one, range(n)))
    return {"per_min": n / (max(ends) - start) * 60}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=120, help="submissions per burst (the issue's size: 600)")
    parser.add_argument("--processes", default="1,2,3", help="worker process counts to compare")
    parser.add_argument("--backend", default="bubblewrap", choices=("bubblewrap", "docker", "auto"))
    parser.add_argument("--no-baseline", action="store_true", help="skip the naive docker run baseline")
    args = parser.parse_args()
    from sandbox import backend as pick

    backend = pick(args.backend)[0]
    counts = [int(c) for c in args.processes.split(",") if c]
    results: dict[str, dict[str, float]] = {}
    with Stack(labs=["tiny-answer"], backend=backend) as stack:
        for count in counts:
            proc = stack.start_worker_processes(count)
            wait_done(queue_burst(2 * count)[0], timeout=120)  # warm-up, not counted
            results[f"{count} worker process{'es' if count > 1 else ''} ({backend})"] = burst(stack, args.n)
            stack.stop(proc)
    if not args.no_baseline:
        results["naive `docker run` per job, 2 at a time"] = docker_run_baseline(max(8, args.n // 4))
    print(f"{args.n} trivial submissions queued at once per row; {load()}")
    print(table(["workers", "grades/min", "wait p50 s", "wait p95 s", "grade p50 s", "errors", "worker CPU",
                 "sandbox CPU", "DB CPU", "machine busy"],
                [(name, r["per_min"], r.get("wait50", ""), r.get("wait95", ""), r.get("grade50", ""),
                  r.get("errors", ""), r.get("worker_cpu", ""), r.get("sandbox_cpu", ""), r.get("db_cpu", ""),
                  f"{100 * r['busy']:.0f}%" if "busy" in r else "") for name, r in results.items()], first=40))
    print("(CPU columns: seconds per grade; worker: the Celery processes with bwrap itself; sandbox: the cgroup)")
    best_name, best = max(((k, v) for k, v in results.items() if "busy" in v), key=lambda kv: kv[1]["per_min"])
    cpu = best["worker_cpu"] + best["sandbox_cpu"] + best["db_cpu"]
    print(f"target >= 600 grades/min: best {best['per_min']:.0f}/min ({best_name}), "
          f"{'holds' if best['per_min'] >= 600 else 'MISSES'}")
    print(f"bound: our processes spent {cpu:.3f} CPU s per grade (workers {best['worker_cpu']:.3f}, sandboxes "
          f"{best['sandbox_cpu']:.3f}, PostgreSQL {best['db_cpu']:.3f}) while the machine was "
          f"{100 * best['busy']:.0f}% busy (load "
          f"{best['load']:.1f}): {os.cpu_count()} cores to ourselves would give at most "
          f"{60 * (os.cpu_count() or 1) / cpu:.0f} grades/min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Grading latency, three paths interleaved in one run on the same machine:

  (a) bare    graders.grade() on the lab's solution in this process: the sandbox run of
              the checks and nothing else (the backend the worker uses; on Docker, a
              sandbox from a warm pool, as the worker has)
  (b) API     the solution as a zip through the REST API (gunicorn) -> PostgreSQL ->
              Redis -> a real Celery worker (`./sf worker`) -> graded; timed until the
              client has the graded document from the API (fetched once the grade is
              committed, see Stack.submit_and_wait). (b stored): until the commit.
  (c) docker run  graders.grade() with a naive runner: one `docker run --rm` per
              submission with the same isolation flags (no network, read-only root,
              capabilities dropped, limits, the same mounts and uid switch)

    .venv/bin/python bench/grade_latency.py [--lab tiny-answer,async-python] [--n 8]
                                            [--backend bubblewrap|docker|auto] [--web-conn-max-age 60]

Prints p50/p95 per path and lab, and the targets: p50(b) <= 1.3 x p50(a) and
p50(b) <= 0.5 x p50(c). Uses its own PostgreSQL database and Redis db (see _stack.py).
"""

from __future__ import annotations

import argparse
import subprocess
import time

from _stack import Stack, lab_dir, load, multipart, p50, pct, table, zip_folder

from graders import grade, load_lab
from sandbox import RunResult, RunSpec, Termination, bwrap_backend, docker_backend, staging
from sandbox.identity import BASE_ENV, DRIVER_ARGV
from sandbox.spec import GRADER_DIR, OUT_DIR, SUBMISSION_DIR, WORK_DIR


def docker_run(spec: RunSpec) -> RunResult:
    """A runner that pays one `docker run --rm` per submission: the naive way."""
    lim = spec.limits
    started = time.monotonic()
    tmpfs = f"size={lim.disk_bytes},nr_inodes={lim.files},mode=1777,nosuid,nodev"
    cpu = max(1, int(lim.cpu_seconds))
    with staging.staged(spec) as st:
        argv = ["docker", "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
                "--cap-add", "SETUID", "--cap-add", "SETGID", "--cap-add", "KILL",
                "--security-opt", "no-new-privileges:true", "--pids-limit", str(lim.pids),
                "--memory", str(lim.memory_bytes), "--memory-swap", str(lim.memory_bytes),
                "--ulimit", f"cpu={cpu}:{cpu + 1}", "--ulimit", "nofile=256:256",
                "--tmpfs", f"{WORK_DIR}:{tmpfs}", "--tmpfs", f"/tmp:{tmpfs}", "--ipc", "private",
                "-v", f"{st.submission}:{SUBMISSION_DIR}:ro", "-v", f"{st.grader}:{GRADER_DIR}:ro",
                "-v", f"{st.out}:{OUT_DIR}:rw", "-w", WORK_DIR, "--user", "0:0"]
        for key, value in {**BASE_ENV, **spec.env}.items():
            argv += ["-e", f"{key}={value}"]
        argv += [spec.image, *DRIVER_ARGV, *spec.command]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=lim.wall_seconds + 30)
        except subprocess.TimeoutExpired:
            return RunResult.failed("docker run", "timed out", started)
        files, refused = staging.collect_returns(st.out, spec.returns, lim.return_bytes)
    return RunResult(termination=Termination.OK, exit_code=done.returncode, stdout=done.stdout[: lim.output_bytes],
                     stderr=done.stderr[: lim.output_bytes], files=files, refused=refused,
                     wall_seconds=time.monotonic() - started, cpu_seconds=None, peak_memory_bytes=None,
                     backend="docker run", image_digest="")


def through_api(stack: Stack, slug: str, body: bytes, ctype: str) -> tuple[float, float]:
    """Seconds until the client sees the grade, and until the grade was committed."""
    doc = stack.submit_and_wait(slug, body, ctype)
    assert doc["status"] == "graded" and doc["attempt"]["score"] == 1.0, doc
    return doc["t_seen"] - doc["t_submit"], doc["t_stored"] - doc["t_submit"]


def measure(stack: Stack, slug: str, n: int, backend: str) -> dict[str, list[float]]:
    lab = load_lab(lab_dir(slug))
    runner = docker_backend.run if backend == "docker" else bwrap_backend.run
    body, ctype = multipart("zip", "solution.zip", zip_folder(lab.solution_dir))
    key = (lab.image, lab.limits, ())

    def bare() -> float:
        if backend == "docker":  # a warm pool, as the worker has between submissions
            deadline = time.monotonic() + 30
            while docker_backend.POOL.ready(key) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
        start = time.perf_counter()
        report = grade(lab, lab.solution_dir, runner=runner)
        assert report.score == 1.0, report.summary
        return time.perf_counter() - start

    def naive() -> float:
        start = time.perf_counter()
        report = grade(lab, lab.solution_dir, runner=docker_run)
        assert report.score == 1.0, report.summary
        return time.perf_counter() - start

    rows: dict[str, list[float]] = {"a": [], "b": [], "b stored": [], "c": []}

    def api() -> None:
        seen, stored = through_api(stack, slug, body, ctype)
        rows["b"].append(seen)
        rows["b stored"].append(stored)

    steps = [lambda: rows["a"].append(bare()), api, lambda: rows["c"].append(naive())]
    bare(), through_api(stack, slug, body, ctype), naive()  # warm-up, not counted
    for i in range(n):  # interleaved, the order rotating so no path always follows another
        for step in steps[i % 3:] + steps[: i % 3]:
            step()
    return rows


def report(slug: str, backend: str, n: int, rows: dict[str, list[float]]) -> str:
    a, b, c = p50(rows["a"]), p50(rows["b"]), p50(rows["c"])
    names = {
        "a": f"(a) bare sandbox grade ({backend})",
        "b": "(b) API submit -> worker -> graded, seen",
        "b stored": "(b stored) ... -> grade committed",
        "c": "(c) naive `docker run` per submission",
    }
    out = [f"lab {slug}, backend {backend}, n={n} per path, interleaved; {load()}",
           table(["path", "p50 s", "p95 s", "p50/(a)", "p50/(c)"],
                 [(names[k], p50(v), pct(v, 0.95), p50(v) / a, p50(v) / c) for k, v in rows.items()])]
    out.append(f"target p50(b) <= 1.3 x (a): {b / a:.2f} x, {'holds' if b / a <= 1.3 else 'MISSES'}; "
               f"target p50(b) <= 0.5 x (c): {b / c:.2f} x, {'holds' if b / c <= 0.5 else 'MISSES'}; "
               f"platform overhead p50(b) - p50(a) = {1000 * (b - a):.0f} ms")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="tiny-answer,async-python", help="comma-separated lab slugs")
    parser.add_argument("--n", type=int, default=8, help="measured runs per path and lab (after one warm-up)")
    parser.add_argument("--backend", default="bubblewrap", choices=("bubblewrap", "docker", "auto"))
    parser.add_argument("--web-conn-max-age", type=int, default=60,
                        help="DB_CONN_MAX_AGE for gunicorn (60, as deployed; 0: a connection per request)")
    args = parser.parse_args()
    from sandbox import backend as pick

    backend = pick(args.backend)[0]
    slugs = [s for s in args.lab.split(",") if s]
    if backend == "docker":
        docker_backend.configure_pool(2)
        for slug in slugs:
            lab = load_lab(lab_dir(slug))
            docker_backend.warm(lab.image, lab.limits)
    outputs = []
    try:
        with Stack(labs=slugs, backend=backend) as stack:
            stack.start_workers(1)
            stack.start_web(env={"DB_CONN_MAX_AGE": str(args.web_conn_max_age)})
            for slug in slugs:
                rows = measure(stack, slug, args.n, backend)
                outputs.append(report(slug, backend, args.n, rows))
                if args.web_conn_max_age != 60:
                    outputs[-1] += f"\n(gunicorn with DB_CONN_MAX_AGE={args.web_conn_max_age})"
                print(outputs[-1], "\n", flush=True)
    finally:
        docker_backend.configure_pool(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

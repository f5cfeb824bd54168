"""Grading latency, side by side in one run:

  (a) the bare sandbox run of a lab's checks: graders.grade() on the solution, no site
  (b) the whole path: API submit -> Celery (Redis broker) -> graded, polled over HTTP

    .venv/bin/python bench/grade_latency.py [--lab async-python] [--n 20] [--backend auto]

Prints medians, p95 and the ratio (b)/(a): what the platform adds on top of grading.
Starts its own web server and worker against a throwaway SQLite database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PY = sys.executable


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bare(lab_slug: str, n: int, backend: str) -> list[float]:
    from graders import grade, load_lab
    from sandbox import backend as pick

    lab = load_lab(REPO / "labs" / lab_slug)
    _, runner = pick(backend)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        report = grade(lab, lab.solution_dir, runner=runner)
        times.append(time.perf_counter() - start)
        assert report.score == 1.0, report.summary
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def _multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----skillforge-bench"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/zip\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def through_api(lab_slug: str, n: int, backend: str, redis_url: str) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix="sf-bench-"))
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SKILLFORGE_DATA_DIR": str(tmp / "data"),
        "SKILLFORGE_SANDBOX": backend,
        "DJANGO_DEBUG": "1",
    }
    manage = [PY, str(REPO / "manage.py")]

    def run(*args: str) -> str:
        return subprocess.run([*manage, *args], env=env, check=True, capture_output=True, text=True).stdout

    run("migrate", "--noinput")
    run("import_labs")
    run("seed_demo")
    token = run("create_token", "demo-learner").strip().split()[-1]
    procs = [
        subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([PY, "-m", "celery", "-A", "skillforge", "worker", "-Q", "cpu,gpu", "--pool", "solo",
                          "-l", "warning"], env={**env, "PYTHONPATH": f"{REPO / 'platform'}:{REPO}"}, cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    body, ctype = _multipart("zip", "solution.zip", _zip_folder(REPO / "labs" / lab_slug / "solution"))
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/openapi.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        times = []
        for i in range(n + 1):  # the first warms the worker up and is not counted
            start = time.perf_counter()
            req = urllib.request.Request(f"{base}/api/labs/{lab_slug}/submissions", data=body,
                                         headers={**headers, "Content-Type": ctype}, method="POST")
            sub = json.load(urllib.request.urlopen(req, timeout=30))
            url = f"{base}/api/submissions/{sub['id']}"
            while True:
                doc = json.load(urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30))
                if doc["status"] in ("graded", "error", "rejected"):
                    break
                time.sleep(0.05)
            if i:
                times.append(time.perf_counter() - start)
            assert doc["status"] == "graded" and doc["attempt"]["score"] == 1.0, doc
        return times
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="async-python")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    from sandbox import backend as pick

    backend_name = pick(args.backend)[0]
    a = bare(args.lab, args.n, backend_name)
    b = through_api(args.lab, args.n, backend_name, args.redis)
    print(f"lab {args.lab}, backend {backend_name}, n={args.n}")
    print(f"{'path':44} {'median s':>9} {'p95 s':>8} {'ratio':>6}")
    print(f"{'(a) bare sandbox run of the checks':44} {statistics.median(a):9.3f} {pct(a, 0.95):8.3f} {1:6.2f}")
    ratio = statistics.median(b) / statistics.median(a)
    print(f"{'(b) API submit -> Celery -> graded':44} {statistics.median(b):9.3f} {pct(b, 0.95):8.3f} {ratio:6.2f}")
    print(f"platform overhead (median b - a): {statistics.median(b) - statistics.median(a):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""SIGKILL a grading worker mid-grade, N times (100 by default), and count what was lost.

Runs the fault test (tests/integration/test_faults.py) with SF_KILL_ROUNDS=N against the
real services (PostgreSQL at DATABASE_URL, Redis at REDIS_URL) and prints its summary:
submissions, kills that landed mid-grade, lost, duplicated, and the recovery time from
the kill to the grade (including starting the next worker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/kill_workers.py [--n 100]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100)
    n = parser.parse_args().n
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/integration/test_faults.py", "-q", "-s", "-p", "no:cacheprovider",
         "-o", "log_cli=false", "--timeout", str(60 * n)],
        cwd=ROOT, env={**os.environ, "SF_KILL_ROUNDS": str(n)}, capture_output=True, text=True)
    summary = re.findall(r"^kill rounds .*$", proc.stdout, re.MULTILINE)
    print(summary[-1] if summary else proc.stdout[-3000:] + proc.stderr[-2000:])
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())

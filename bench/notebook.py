"""What a notebook submission costs over a file submission, side by side in one run.

Grades the notebook test lab (tests/notebooks/lab: answer() must return 42) on the
bubblewrap backend, N times each (10 by default):

  file       answer.py submitted as a file
  notebook   the same definition in a two-cell notebook: executed with nbclient as
             the learner (kernel start + cells), then exported to answer.py
  kernel     just starting and stopping an ipykernel inside the sandbox, as the learner

    .venv/bin/python bench/notebook.py [--n 10]

Prints median and p95 per path and each median's ratio to the file submission.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from graders import accept_upload, grade, load_lab  # noqa: E402
from sandbox import Limits, RunSpec, bwrap_backend  # noqa: E402

LAB = load_lab(ROOT / "tests" / "notebooks" / "lab")
NOTEBOOK = json.dumps({
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [], "source": s}
              for i, s in enumerate(["def answer():\n    return 42\n", "answer()\n"])],
}).encode()
KERNEL = ("setpriv --reuid=1002 --regid=1002 --clear-groups -- python3 -c "
          "'from jupyter_client.manager import start_new_kernel as s; km, kc = s(kernel_name=\"python3\"); "
          "kc.stop_channels(); km.shutdown_kernel(now=True)'")


def timed(fn, n: int) -> list[float]:
    fn()  # warm caches once
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory() as tmp:
        nb_dir = Path(tmp) / "nb"
        accept_upload("work.ipynb", NOTEBOOK, nb_dir, LAB.submission)

        def graded(folder: Path) -> None:
            report = grade(LAB, folder, runner=bwrap_backend.run)
            assert report.score == 1.0, report.to_json(indent=2)

        kernel_spec = RunSpec(image=LAB.image, command=("sh", "-c", KERNEL), limits=Limits(wall_seconds=30),
                              env={"HOME": "/tmp", "JUPYTER_PLATFORM_DIRS": "1"})

        def kernel() -> None:
            result = bwrap_backend.run(kernel_spec)
            assert result.ok, result

        rows = {
            "file submission (answer.py)": timed(lambda: graded(LAB.solution_dir), n),
            "notebook submission (2 cells)": timed(lambda: graded(nb_dir), n),
            "kernel start+stop alone, in the sandbox": timed(kernel, n),
        }
    base = statistics.median(rows["file submission (answer.py)"])
    print(f"{'path':44} {'median':>9} {'p95':>9} {'ratio':>7}   (n={n}, bubblewrap)")
    for name, times in rows.items():
        med = statistics.median(times)
        p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
        print(f"{name:44} {med * 1000:8.0f}ms {p95 * 1000:8.0f}ms {med / base:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

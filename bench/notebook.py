"""Notebook grading, side by side in one run (bubblewrap backend, N of each, interleaved):

1. SkillForge against nbgrader: the same five-cell nbgrader assignment (a locked helper,
   two answer cells, two autograder test cells with hidden tests) and the same student
   notebook, graded
     skillforge       by graders.grade() on the lab import_nbgrader makes of it: the
                      notebook runs in a fresh sandbox with nbclient, as the learner
     nbgrader API     by nbgrader's own autograde (NbGraderAPI) in a process started
                      once and kept warm: what a grading service would call; no sandbox
     nbgrader CLI     by `nbgrader autograde ps1 --student s<i>`, one process per
                      submission (how nbgrader is usually run)
   Both must give the same score. Target: SkillForge <= 0.35 x nbgrader's time.
2. What a notebook submission costs over a file submission (tests/notebooks/lab:
   answer() must return 42): answer.py as a file, the same definition in a two-cell
   notebook, and an ipykernel started and stopped in the sandbox alone.

    .venv/bin/python bench/notebook.py [--n 5] [--only nbgrader|submission]

nbgrader is installed from PyPI with the dev extras (pyproject.toml); its autograde
starts a kernel from .venv/bin, which this puts on PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _stack import load, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "nbgrader_import"))

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


def submission_costs(n: int) -> str:
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
    return f"n={n} each, bubblewrap; {load()}\n" + table(
        ["path", "p50 ms", "p95 ms", "p50 ratio"],
        [(name, 1000 * statistics.median(t), 1000 * sorted(t)[max(0, round(0.95 * len(t)) - 1)],
          statistics.median(t) / base) for name, t in rows.items()])


# --- SkillForge against nbgrader on one five-cell assignment -----------------------------------------

FIVE_CELLS_SOURCE = (
    ("helpers", "PRICE = 0.5  # dollars per token\n", {"locked": True}),
    ("tokens", "def count_tokens(text):\n    ### BEGIN SOLUTION\n    return len(text.split())\n"
               "    ### END SOLUTION\n", {"solution": True}),
    ("test_tokens", "assert count_tokens('a b c') == 3\n### BEGIN HIDDEN TESTS\nassert count_tokens('  a   b ') == 2\n"
                    "### END HIDDEN TESTS\n", {"grade": True, "points": 2}),
    ("cost", "def cost(text):\n    ### BEGIN SOLUTION\n    return count_tokens(text) * PRICE\n"
             "    ### END SOLUTION\n", {"solution": True}),
    ("test_cost", "assert cost('a b') == 1.0\n### BEGIN HIDDEN TESTS\nassert cost('') == 0\n### END HIDDEN TESTS\n",
     {"grade": True, "points": 2}),
)
ANSWERS = {"tokens": "def count_tokens(text):\n    return len(text.split())\n",
           "cost": "def cost(text):\n    return count_tokens(text) * PRICE\n"}


def _nbgrader(course: Path, *args: str) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course,
                          env={**os.environ, "PYTHONPATH": ""}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return time.perf_counter() - start


NBGRADER_SERVICE = """
import sys, warnings
warnings.filterwarnings("ignore")
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config
config = Config()
config.CourseDirectory.root = sys.argv[1]
config.CourseDirectory.course_id = "course"
config.Execute.timeout = 30
api = NbGraderAPI(config=config)
print("ready", flush=True)
for line in sys.stdin:
    result = api.autograde("ps1", line.strip(), force=True, create=True)
    print("ok" if result["success"] else "failed: " + result.get("log", "")[-500:].replace("\\n", " "), flush=True)
"""


def versus_nbgrader(n: int) -> str:
    import logging
    import warnings

    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy warnings from inside nbgrader's gradebook
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    from nbg_assignment import _cell, answered, notebook, write

    from graders.nbgrader_import import build_lab

    os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"  # nbgrader's kernel
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "course"
        (course / "nbgrader_config.py").parent.mkdir(parents=True)
        (course / "nbgrader_config.py").write_text(
            f'c = get_config()\nc.CourseDirectory.course_id = "course"\nc.CourseDirectory.root = {str(course)!r}\n'
            "c.Execute.timeout = 30\n")
        write(course / "source/ps1/ps1.ipynb",
              notebook([_cell("code", src, grade_id=gid, **kw) for gid, src, kw in FIVE_CELLS_SOURCE]))
        _nbgrader(course, "generate_assignment", "ps1", "--force", "--create")
        release = json.loads((course / "release/ps1/ps1.ipynb").read_text())
        student = answered(release, ANSWERS)
        lab_dir = Path(tmp) / "labs" / "ps1"
        build_lab(release=course / "release/ps1/ps1.ipynb", source=course / "source/ps1/ps1.ipynb", dest=lab_dir,
                  slug="ps1")
        lab = load_lab(lab_dir)
        folder = Path(tmp) / "submission"
        data = write(Path(tmp) / "student.ipynb", student).read_bytes()
        accept_upload("ps1.ipynb", data, folder, lab.submission)

        # nbgrader's API runs in a process of its own, started once and kept warm: in this
        # process its kernels and threads would slow the sandbox runs measured beside it
        service = subprocess.Popen([sys.executable, "-c", NBGRADER_SERVICE, str(course)], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   env={**os.environ, "PYTHONPATH": ""})
        assert service.stdin and service.stdout
        assert service.stdout.readline().strip() == "ready"
        counter = iter(range(10**6))
        scores: dict[str, set[float]] = {"skillforge": set(), "nbgrader": set()}

        def skillforge() -> None:
            report = grade(lab, folder, runner=bwrap_backend.run)
            assert report.run.termination == "ok", report.run
            scores["skillforge"].add(report.score)

        def nbgrader_api() -> None:
            name = f"s{next(counter)}"
            write(course / f"submitted/{name}/ps1/ps1.ipynb", student)
            service.stdin.write(name + "\n")  # type: ignore[union-attr]
            service.stdin.flush()  # type: ignore[union-attr]
            answer = service.stdout.readline().strip()  # type: ignore[union-attr]
            assert answer == "ok", answer

        def nbgrader_cli() -> None:
            name = f"s{next(counter)}"
            write(course / f"submitted/{name}/ps1/ps1.ipynb", student)
            _nbgrader(course, "autograde", "ps1", "--student", name, "--force", "--create")

        paths = {"skillforge (sandbox, nbclient)": skillforge, "nbgrader API (a warm process)": nbgrader_api,
                 "nbgrader CLI (a process per submission)": nbgrader_cli}
        rows: dict[str, list[float]] = {name: [] for name in paths}
        for fn in paths.values():
            fn()  # warm-up, not counted
        for i in range(n):  # interleaved, the order rotating
            names = list(paths)[i % 3:] + list(paths)[: i % 3]
            for name in names:
                start = time.perf_counter()
                paths[name]()
                rows[name].append(time.perf_counter() - start)
        service.stdin.close()
        service.wait(timeout=60)
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="course") as gb:
            for i in range(next(counter)):
                sub = gb.find_submission("ps1", f"s{i}")
                scores["nbgrader"].add(round(sub.score / sub.max_score, 4))
    assert scores["skillforge"] == scores["nbgrader"], scores  # the same grade, or the timing means nothing
    ours = statistics.median(rows["skillforge (sandbox, nbclient)"])
    out = [f"one five-cell nbgrader notebook, score {scores['skillforge']}; n={n} each, interleaved; {load()}",
           table(["path", "p50 s", "p95 s", "skillforge/it"],
                 [(name, statistics.median(t), sorted(t)[max(0, round(0.95 * len(t)) - 1)], ours / statistics.median(t))
                  for name, t in rows.items()])]
    for name in list(rows)[1:]:
        ratio = ours / statistics.median(rows[name])
        out.append(f"target skillforge <= 0.35 x {name}: {ratio:.2f} x, {'holds' if ratio <= 0.35 else 'MISSES'}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--only", choices=("nbgrader", "submission"))
    args = parser.parse_args()
    if args.only != "submission":
        print(versus_nbgrader(args.n), "\n", flush=True)
    if args.only != "nbgrader":
        print(submission_costs(args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

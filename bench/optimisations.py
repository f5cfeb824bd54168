"""Before/after, interleaved in one run, for each change made to the grading path for speed.

The "before" code is kept here, verbatim where it was replaced, so the comparison can be
re-run at any time:

  scratch mounts  bubblewrap's two writable tmpfs: `mount`/`umount -l` processes (before)
                  against mount(2)/umount2(2) from libc (now); measured on a whole bare
                  grade of the trivial lab, and on the mount + unmount alone
  schema checks   jsonschema.validate() (re-checks the schema on every call) against
                  validators built once, for the report and the observations of one grade
  DB connection   a worker task's first query on a new connection (DB_CONN_MAX_AGE=0)
                  against one kept between tasks (what `./sf worker` now sets)
  learner exit    the driver's harness checked whether the learner's process exited every
                  20 ms (before) against waking on a pidfd (now), on a whole bare grade of
                  the trivial lab (a copy of the harness with the old loop is mounted)

    .venv/bin/python bench/optimisations.py [--n 20]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
from _stack import DATABASE_URL, TINY, ensure_database, load, p50, pct, table

from graders import grade, load_lab, pipeline
from graders.report import schema
from graders.report import validate as validate_now
from sandbox import bwrap_backend
from sandbox.spec import Limits
from sandbox.staging import Staged


@contextmanager
def scratch_before(st: Staged, lim: Limits) -> Iterator[bool]:
    """bwrap_backend._scratch as it was: a `mount` and an `umount -l` process per folder."""
    mounted: list[Path] = []
    options = f"size={lim.disk_bytes},nr_inodes={lim.files},mode=1777,nosuid,nodev"
    try:
        for name in bwrap_backend.SCRATCH.values():
            target = st.root / name
            target.mkdir()
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "sf-scratch", str(target)],
                                  capture_output=True)
            if done.returncode != 0:
                break
            mounted.append(target)
        yield len(mounted) == len(bwrap_backend.SCRATCH)
    finally:
        for target in mounted:
            subprocess.run(["umount", "-l", str(target)], capture_output=True)


def interleaved(pairs: dict[str, Callable[[], object]], n: int) -> dict[str, list[float]]:
    for fn in pairs.values():
        fn()  # warm-up
    out: dict[str, list[float]] = {name: [] for name in pairs}
    for i in range(n):
        for name in list(pairs)[i % 2:] + list(pairs)[: i % 2]:
            start = time.perf_counter()
            pairs[name]()
            out[name].append(time.perf_counter() - start)
    return out


def scratch(n: int) -> dict[str, list[float]]:
    lab = load_lab(TINY)
    now = bwrap_backend._scratch

    def graded(impl: Callable[..., object]) -> Callable[[], object]:
        def run() -> object:
            bwrap_backend._scratch = impl  # type: ignore[assignment]
            try:
                report = grade(lab, lab.solution_dir, runner=bwrap_backend.run)
                assert report.score == 1.0, report.summary
                return report
            finally:
                bwrap_backend._scratch = now
        return run

    def alone(impl: Callable[..., object]) -> Callable[[], object]:
        def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                root = Path(tmp)
                with impl(Staged(root, root / "s", root / "g", root / "o"), Limits()) as ok:  # type: ignore[operator]
                    assert ok
        return run

    rows = interleaved({"grade, scratch by mount(8) (before)": graded(scratch_before),
                        "grade, scratch by mount(2) (now)": graded(now)}, n)
    rows.update(interleaved({"mount + unmount alone, mount(8) (before)": alone(scratch_before),
                             "mount + unmount alone, mount(2) (now)": alone(now)}, n))
    return rows


def schemas(n: int) -> dict[str, list[float]]:
    lab = load_lab(TINY)
    result = {}

    def runner(spec):  # type: ignore[no-untyped-def]
        result["run"] = bwrap_backend.run(spec)
        return result["run"]

    document = grade(lab, lab.solution_dir, runner=runner).to_dict()
    observations = json.loads(result["run"].files[pipeline.OBSERVATIONS])

    def before() -> None:
        jsonschema.validate(document, schema())
        jsonschema.validate(observations, pipeline.OBSERVATIONS_SCHEMA)

    def now() -> None:
        validate_now(document)
        pipeline._validate(observations, "observations")

    return interleaved({"report + observations, jsonschema.validate (before)": before,
                        "report + observations, validators built once (now)": now}, n * 5)


def connections(n: int) -> dict[str, list[float]]:
    import psycopg

    ensure_database(DATABASE_URL)
    kept = psycopg.connect(DATABASE_URL, autocommit=True)

    def new() -> None:
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute("SELECT 1").fetchone()

    def reuse() -> None:
        kept.execute("SELECT 1").fetchone()  # the health check Django runs before reuse
        kept.execute("SELECT 1").fetchone()

    return interleaved({"task's first query, new connection (before)": new,
                        "task's first query, kept connection (now)": reuse}, n * 5)


# The harness's wait for the learner's exit before the pidfd (graders/harness/sfharness.py).
BEFORE_WAIT_EXIT = """\
    deadline = started + timeout
    termination = "timeout"
    while time.monotonic() < deadline:
        if over.is_set():
            termination = "output_limit"
            break
        if proc.returncode is not None:
            termination = "ok"
            break
        await asyncio.sleep(0.02)
"""


def harness_poll(n: int) -> dict[str, list[float]]:
    import shutil

    lab = load_lab(TINY)
    real = pipeline.HARNESS
    with tempfile.TemporaryDirectory() as tmp:
        patched = Path(tmp)
        shutil.copytree(real, patched, dirs_exist_ok=True)
        source = (patched / "sfharness.py").read_text()
        now = "    termination = await _wait_exit(proc, over, deadline=started + timeout)\n"
        assert now in source, "the harness changed: update this comparison"
        (patched / "sfharness.py").write_text(source.replace(now, BEFORE_WAIT_EXIT))

        def graded(harness: Path) -> Callable[[], object]:
            def run() -> object:
                pipeline.HARNESS = harness
                try:
                    report = grade(lab, lab.solution_dir, runner=bwrap_backend.run)
                    assert report.score == 1.0, report.summary
                    return report
                finally:
                    pipeline.HARNESS = real
            return run

        return interleaved({"grade, harness polls the learner every 20 ms (before)": graded(patched),
                            "grade, harness woken by a pidfd (now)": graded(real)}, n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    n = parser.parse_args().n
    rows: dict[str, list[float]] = {}
    for part in (scratch, schemas, connections, harness_poll):
        rows.update(part(n))
    print(f"before/after, interleaved; {load()}")
    print(table(["change", "p50 ms", "p95 ms"], [(k, 1000 * p50(v), 1000 * pct(v, 0.95)) for k, v in rows.items()],
                first=54))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Turn an nbgrader assignment into a SkillForge lab whose grade is nbgrader's autograde score.

    build_lab(release=Path("release/ps1/ps1.ipynb"), source=Path("source/ps1/ps1.ipynb"),
              dest=Path("labs/ps1"), slug="ps1")

Reads nbgrader's cell metadata (schema 3): autograded answer cells (`solution`),
autograder test cells (`grade` with `points`), manually graded answers (both), locked
cells. The lab it writes:

    lab.toml            editable = [the notebook]; tagged nbgrader
    brief.md            the release notebook's markdown, in order
    starter/<nb>        the release notebook, as learners get it from nbgrader
    solution/<nb>       the source notebook (instructor's solutions), outputs cleared
    checks/checks.toml  one `points` check per test cell, weight = its points
    checks/driver/      driver.py (calls harness/sfnbgrader.py) and assignment.json:
                        each cell's instructor source (test cells with hidden tests)

The score is points earned / all points, as nbgrader's. Test cells come from --source
when given (hidden tests included), else from the release notebook (visible tests only).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .labspec import LabSpecError, load_lab


class ImportProblem(ValueError):
    """The assignment cannot become a lab; str(exc) says why and what to do."""


DRIVER = '''"""Autograde the learner's notebook as nbgrader does (see /grader/sfnbgrader.py)."""

import sys

sys.path.insert(0, "/grader")

import sfnbgrader  # noqa: E402

sfnbgrader.main()
'''


@dataclass(frozen=True)
class Cell:
    grade_id: str
    cell_type: str
    source: str
    grade: bool
    solution: bool
    locked: bool
    points: float


def _read(path: Path) -> dict[str, Any]:
    try:
        import nbformat

        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except FileNotFoundError:
        raise ImportProblem(f"{path}: no such notebook") from None
    except Exception as exc:  # nbformat raises several kinds for a broken file
        raise ImportProblem(f"{path} is not a valid Jupyter notebook: {str(exc)[:300]}") from None
    return json.loads(json.dumps(nb))  # plain dicts and lists


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def graded_cells(nb: dict[str, Any], path: Path) -> list[Cell]:
    cells: list[Cell] = []
    seen: set[str] = set()
    for i, cell in enumerate(nb.get("cells", [])):
        meta = cell.get("metadata", {}).get("nbgrader")
        if not isinstance(meta, dict) or not meta.get("grade_id"):
            continue
        grade_id = str(meta["grade_id"])
        if grade_id in seen:
            raise ImportProblem(f"{path}: cell {i + 1} repeats grade_id {grade_id!r}; grade ids must be unique.")
        seen.add(grade_id)
        grade, solution = bool(meta.get("grade")), bool(meta.get("solution"))
        try:
            points = float(meta.get("points", 0)) if grade else 0.0
        except (TypeError, ValueError):
            raise ImportProblem(f"{path}: cell {grade_id!r} has points {meta.get('points')!r}, not a number.") from None
        if grade and points <= 0:
            raise ImportProblem(f"{path}: graded cell {grade_id!r} has no points.")
        cells.append(Cell(grade_id, str(cell.get("cell_type")), _text(cell.get("source", "")), grade, solution,
                          bool(meta.get("locked")) or (grade and not solution), points))
    return cells


def _observe_key(grade_id: str, taken: set[str]) -> str:
    base = "points_" + (re.sub(r"[^a-z0-9_]+", "_", grade_id.lower()).strip("_") or "cell")
    key, n = base[:60], 2
    while key in taken:
        key, n = f"{base[:56]}_{n}", n + 1
    taken.add(key)
    return key


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _cleared(nb: dict[str, Any]) -> dict[str, Any]:
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**nb, "cells": cells}


def build_lab(*, release: Path, dest: Path, slug: str, source: Path | None = None, title: str = "",
              pass_bar: float = 0.6, cell_seconds: float = 30.0, force: bool = False) -> list[str]:
    """Write the lab folder; returns notes for the instructor. Raises ImportProblem."""
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
        raise ImportProblem(f"slug {slug!r}: use lowercase letters, digits and single '-'.")
    if dest.exists() and not force:
        raise ImportProblem(f"{dest} exists; pass --force to replace it.")
    release_nb = _read(release)
    release_cells = {c.grade_id: c for c in graded_cells(release_nb, release)}
    source_nb = _read(source) if source else None
    cells = {c.grade_id: c for c in graded_cells(source_nb, source)} if source_nb and source else release_cells
    missing = sorted(set(release_cells) - set(cells))
    if missing:
        raise ImportProblem(f"the release has cells the source lacks ({', '.join(missing)}): "
                            "are they the same assignment?")
    tests = [c for c in cells.values() if c.grade]
    if not any(c.grade and not c.solution for c in tests):
        raise ImportProblem(f"{release} has no autograder test cell (nbgrader metadata grade=true with points).")
    notes = []
    if source is None:
        notes.append("No --source: the hidden tests are unknown and the solution is the release notebook, "
                     "so labcheck will fail until solution/ holds a notebook that scores 1.0.")
    manual = [c.grade_id for c in tests if c.solution]
    if manual:
        notes.append(f"Manually graded cells ({', '.join(manual)}) count in the total but are never "
                     "graded automatically, as in nbgrader's autograde.")

    name = release.name
    taken: set[str] = set()
    observe = {c.grade_id: _observe_key(c.grade_id, taken) for c in tests}
    total_seconds = min(cell_seconds * max(len(release_nb.get("cells", [])), 1) + 20, 240)
    staging = dest.with_name(f".{dest.name}.importing")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "starter").mkdir(parents=True)
    (staging / "solution").mkdir()
    (staging / "checks" / "driver").mkdir(parents=True)
    (staging / "starter" / name).write_text(json.dumps(_cleared(release_nb), indent=1) + "\n", encoding="utf-8")
    (staging / "solution" / name).write_text(json.dumps(_cleared(source_nb or release_nb), indent=1) + "\n",
                                             encoding="utf-8")
    title = title or _first_heading(release_nb) or slug
    brief = "\n\n".join(_text(c.get("source", "")) for c in release_nb.get("cells", []) if c.get("cell_type") == "markdown")
    (staging / "brief.md").write_text(
        f"# {title}\n\nImported from an nbgrader assignment. Fill in the answer cells of `{name}` and submit "
        f"the notebook; it is autograded as nbgrader would, hidden tests included.\n\n{brief}\n", encoding="utf-8")
    (staging / "lab.toml").write_text(
        f"slug = {_toml_str(slug)}\ntitle = {_toml_str(title)}\n"
        f"summary = {_toml_str(f'nbgrader assignment {name}: autograded by its test cells.')}\n"
        f'version = "1"\npass_bar = {pass_bar}\neditable = [{_toml_str(name)}]\ntags = ["nbgrader", "notebook"]\n\n'
        f'[driver]\ncommand = ["python3", "-I", "/grader/driver.py"]\n\n'
        f"[limits]\nwall_seconds = {total_seconds + 30:g}\ncpu_seconds = {total_seconds + 30:g}\nmemory_mb = 1024\n"
        f"pids = 256\ndisk_mb = 64\noutput_kb = 256\nreturn_kb = 512\n\n"
        f"[submission]\nmax_files = 10\nmax_bytes = 4194304\nmax_file_bytes = 2097152\nmax_upload_bytes = 4194304\n",
        encoding="utf-8")
    checks = []
    for c in tests:
        kind = "an answer graded by a person" if c.solution else "a test cell"
        explain = f"The test cell {c.grade_id} failed: an error, or output on stderr. Run it in your notebook to see why."
        checks.append(
            f"[[check]]\nid = {_toml_str(c.grade_id)}\nname = {_toml_str(f'{c.grade_id} ({kind})')}\n"
            f'weight = {c.points:g}\nkind = "points"\nobserve = {_toml_str(observe[c.grade_id])}\n'
            f"explain = {_toml_str(explain)}\n")
    (staging / "checks" / "checks.toml").write_text("\n".join(checks), encoding="utf-8")
    (staging / "checks" / "driver" / "driver.py").write_text(DRIVER, encoding="utf-8")
    assignment = {
        "notebook": name,
        "cell_seconds": cell_seconds,
        "total_seconds": total_seconds,
        "observe": observe,
        "cells": {c.grade_id: {"cell_type": c.cell_type, "source": c.source, "grade": c.grade, "solution": c.solution,
                               "locked": c.locked, "points": c.points} for c in cells.values()},
    }
    (staging / "checks" / "driver" / "assignment.json").write_text(json.dumps(assignment, indent=1, sort_keys=True),
                                                                  encoding="utf-8")
    try:
        load_lab(staging)
    except LabSpecError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ImportProblem(f"the lab it would write does not load: {exc}") from None
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return notes


def _first_heading(nb: dict[str, Any]) -> str:
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            match = re.search(r"^#+\s*(.+)$", _text(cell.get("source", "")), re.MULTILINE)
            if match:
                return match.group(1).strip()[:120]
    return ""

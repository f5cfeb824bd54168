"""The driver of a lab imported from nbgrader (graders/nbgrader_import.py), inside the sandbox.

It autogrades the learner's notebook the way `nbgrader autograde` does, so the score is
nbgrader's own:

1. sanitize, as the driver, on the notebook as data: clear outputs; keep nbgrader
   metadata only on the first cell of each grade_id; for every cell of the assignment,
   restore its type, lock and points, and put back the instructor's source of each
   locked cell and each autograder test cell (with its hidden tests);
2. execute it with nbclient *as the learner*: errors allowed, per-cell time limit, a
   cell that times out gets an error output (nbgrader's `error_on_timeout`);
3. score each autograder test cell as nbgrader's `determine_grade` does: an error or
   any stderr output scores 0, a single numeric `execute_result` is partial credit,
   anything else full points; a test cell missing from the notebook scores 0; a
   manually graded answer cell is left for a person (observed as null).

Trust: as in nbgrader, the test cells run in the learner's kernel, next to the learner's
code, which could subvert them (e.g. an object whose __eq__ is always true). The driver
reads the outputs from outside, but a hostile kernel decides what it outputs. The
catalogue marks such labs `nbgrader` so a platform can treat their grades accordingly.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import sfharness as h
import sfnotebook

ASSIGNMENT = Path(__file__).with_name("assignment.json")  # written by the importer, driver-only

EXECUTOR = r"""
import sys, nbformat
from nbclient import NotebookClient
src, dest, per_cell = sys.argv[1], sys.argv[2], float(sys.argv[3])
nb = nbformat.read(src, as_version=4)
client = NotebookClient(
    nb, timeout=per_cell, kernel_name="python3", allow_errors=True, interrupt_on_timeout=True,
    record_timing=False, resources={"metadata": {"path": "/work"}},
    error_on_timeout={"ename": "CellTimeoutError", "evalue": "",
                      "traceback": ["CellTimeoutError: No reply from kernel before timeout"]})
status = "ok"
try:
    client.execute()
except Exception as exc:  # a dead kernel: keep what ran
    status = "dead_kernel"
nb.metadata["sf_status"] = status
nbformat.write(nb, dest)
"""


def _meta(cell: dict[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def sanitize(learner: dict[str, Any], assignment: dict[str, Any]) -> dict[str, Any]:
    """nbgrader's ClearOutput, DeduplicateIds and OverwriteCells, on the notebook as data."""
    cells_by_id = assignment["cells"]
    seen: set[str] = set()
    cells = []
    for cell in learner.get("cells", []):
        cell = json.loads(json.dumps(cell))  # a private copy
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        meta = _meta(cell)
        grade_id = meta.get("grade_id")
        if isinstance(grade_id, str) and (grade_id in seen or grade_id not in cells_by_id):
            del cell["metadata"]["nbgrader"]  # a duplicate, or a cell the instructor never made
            grade_id = None
        if isinstance(grade_id, str):
            seen.add(grade_id)
            source = cells_by_id[grade_id]
            meta.update(grade=source["grade"], solution=source["solution"], locked=source["locked"])
            if source["grade"]:
                meta["points"] = source["points"]
            if cell.get("cell_type") != source["cell_type"]:
                cell = {"cell_type": source["cell_type"], "metadata": cell.get("metadata", {}), "source": cell.get("source", "")}
                if source["cell_type"] == "code":
                    cell.update(outputs=[], execution_count=None)
            if source["locked"] or (source["grade"] and not source["solution"]):
                cell["source"] = source["source"]
        cells.append(cell)
    return {**learner, "cells": cells}


def determine_grade(cell: dict[str, Any], points: float) -> float:
    """nbgrader.utils.determine_grade for an autograder test cell."""
    for output in cell.get("outputs", []) or []:
        kind = output.get("output_type")
        if kind == "error" or (kind == "stream" and output.get("name") == "stderr"):
            return 0.0
        if kind == "execute_result":
            data = (output.get("data") or {}).get("text/plain")
            text = data if isinstance(data, str) else (data[0] if isinstance(data, list) and len(data) == 1 else None)
            try:
                value = float(text) if text is not None else None
            except ValueError:
                value = None
            if value is None:
                return points
            return value if 0 <= value <= points else points  # out of range: full credit, as nbgrader
    return points


def score(executed: dict[str, Any] | None, assignment: dict[str, Any]) -> dict[str, float | None]:
    found: dict[str, dict[str, Any]] = {}
    for cell in (executed or {}).get("cells", []):
        grade_id = _meta(cell).get("grade_id")
        if isinstance(grade_id, str) and grade_id not in found:
            found[grade_id] = cell
    points: dict[str, float | None] = {}
    for grade_id, source in assignment["cells"].items():
        if not source["grade"]:
            continue
        key = assignment["observe"][grade_id]
        if source["solution"]:
            points[key] = None  # a manually graded answer
        elif grade_id not in found or found[grade_id].get("cell_type") != "code":
            points[key] = 0.0
        else:
            points[key] = determine_grade(found[grade_id], float(source["points"]))
    return points


def main() -> None:
    assignment = json.loads(ASSIGNMENT.read_text(encoding="utf-8"))
    h.prepare_workspace()
    candidates = sorted(Path("/submission").glob("*.ipynb"))
    named = Path("/submission") / assignment["notebook"]
    notebook = named if named.is_file() else (candidates[0] if len(candidates) == 1 else None)
    if notebook is None:
        h.emit({key: 0.0 for key in assignment["observe"].values()}, None)
        return
    sanitized = sanitize(json.loads(notebook.read_text(encoding="utf-8")), assignment)
    fd, path = tempfile.mkstemp(suffix=".ipynb", dir="/tmp")  # the driver's, not a name the learner chose
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(sanitized, fh)
    os.chmod(path, 0o644)
    executed_name = f".sf-autograded-{os.path.basename(path)}"
    run = asyncio.run(h.run_learner(
        ["python3", "-I", "-c", EXECUTOR, path, executed_name, f"{assignment['cell_seconds']:g}"],
        timeout=float(assignment["total_seconds"]), env={"JUPYTER_PLATFORM_DIRS": "1"},
    ))
    h.kill_learner_processes()
    executed = sfnotebook.read_learner_json(Path("/work") / executed_name, 64 * 1024 * 1024)
    status = str((executed or {}).get("metadata", {}).get("sf_status", "error" if run.termination == "ok" else run.termination))
    doc = {"notebook": notebook.name, "module": notebook.name, "status": status, "seconds": round(run.wall_seconds, 2),
           "notes": [], "cells": sfnotebook.outputs(executed, 64 * 1024) if executed else [],
           "log": h.log_tail(run)[-2000:] if status != "ok" else ""}
    with open(sfnotebook.OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, sort_keys=True)
    h.emit(score(executed, assignment), run)

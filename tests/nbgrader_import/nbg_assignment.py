"""An nbgrader assignment of our own (ps1) and submissions to it, built as data.

The source notebook carries nbgrader metadata (schema 3): answer cells with
### BEGIN/END SOLUTION, autograder test cells with points and ### BEGIN/END HIDDEN
TESTS, a locked helper cell and a partial-credit test cell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _cell(kind: str, source: str, *, grade_id: str | None = None, grade: bool = False, solution: bool = False,
          locked: bool = False, points: float = 0) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    if grade_id:
        meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
                "task": False}
        if grade:
            meta["points"] = points
        cell["metadata"]["nbgrader"] = meta
    return cell


SOURCE_CELLS = [
    _cell("markdown", "# Problem set 1: tokens and costs\n\nWrite three small functions.", grade_id="intro", locked=True),
    _cell("code", "PRICE = 0.5  # dollars per token\n", grade_id="helpers", locked=True),
    _cell("code", "def squares(n):\n    ### BEGIN SOLUTION\n    return [i * i for i in range(n)]\n    ### END SOLUTION\n",
          grade_id="squares", solution=True),
    _cell("code", "assert squares(3) == [0, 1, 4]\n### BEGIN HIDDEN TESTS\nassert squares(0) == []\n"
                  "assert squares(5)[-1] == 16\n### END HIDDEN TESTS\n",
          grade_id="test_squares", grade=True, points=2),
    _cell("code", "def count_tokens(text):\n    ### BEGIN SOLUTION\n    return len(text.split())\n    ### END SOLUTION\n",
          grade_id="tokens", solution=True),
    _cell("code", "assert count_tokens('a b c') == 3\n### BEGIN HIDDEN TESTS\nassert count_tokens('  a   b ') == 2\n"
                  "assert count_tokens('') == 0\n### END HIDDEN TESTS\n",
          grade_id="test_tokens", grade=True, points=3),
    _cell("code", "def cost(text):\n    ### BEGIN SOLUTION\n    return count_tokens(text) * PRICE\n    ### END SOLUTION\n",
          grade_id="cost", solution=True),
    _cell("code", "earned = 0\nearned += 1 if cost('a b') == 1.0 else 0\nearned += 1 if cost('') == 0 else 0\nearned\n",
          grade_id="test_cost", grade=True, points=2),
    _cell("markdown", "Explain in one sentence why tokens, not characters, are billed.", grade_id="why", grade=True,
          solution=True, points=1),
]


def notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                         "language_info": {"name": "python"}}}


def write(path: Path, nb: dict[str, Any]) -> Path:
    """Write with nbformat, which adds the cell ids nbformat 4.5 requires."""
    import nbformat

    node = nbformat.from_dict(nb)
    for i, cell in enumerate(node.cells):
        cell.setdefault("id", f"cell-{i}")
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(node, str(path))
    return path


def answered(release: dict[str, Any], answers: dict[str, str], *, edit: dict[str, str] | None = None,
             drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A student's notebook: the release with some answer cells (and, to cheat, other cells) rewritten."""
    out = json.loads(json.dumps(release))
    cells = []
    for cell in out["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in drop:
            continue
        if grade_id in answers:
            cell["source"] = answers[grade_id]
        if edit and grade_id in edit:
            cell["source"] = edit[grade_id]
        cells.append(cell)
    out["cells"] = cells
    return out


GOOD = {
    "squares": "def squares(n):\n    return [i * i for i in range(n)]\n",
    "tokens": "def count_tokens(text):\n    return len(text.split())\n",
    "cost": "def cost(text):\n    return count_tokens(text) * PRICE\n",
    "why": "Models read tokens, so compute and price scale with tokens.",
}

# student -> how their notebook differs from the release
STUDENTS: dict[str, dict[str, Any]] = {
    "perfect": {"answers": GOOD},
    "blank": {"answers": {}},
    "partial": {"answers": {**GOOD, "tokens": "def count_tokens(text):\n    return len(text.split(' '))\n",
                            "cost": "def cost(text):\n    return max(1, count_tokens(text)) * PRICE\n"}},
    "cheater": {"answers": {**GOOD, "squares": "def squares(n):\n    return [0, 1, 4]\n"},
                "edit": {"test_squares": "pass\n", "helpers": "PRICE = 0\n", "test_tokens": "assert True\n"}},
    "noisy": {"answers": {**GOOD, "tokens": "import sys\ndef count_tokens(text):\n"
                                            "    print('counting', file=sys.stderr)\n    return len(text.split())\n"}},
    "dropped": {"answers": GOOD, "drop": ("test_cost",)},
    "crasher": {"answers": {**GOOD, "squares": "def squares(n):\n    raise RuntimeError('todo')\n"}},
}


def student_notebook(release: dict[str, Any], name: str) -> dict[str, Any]:
    how = STUDENTS[name]
    return answered(release, how["answers"], edit=how.get("edit"), drop=how.get("drop", ()))

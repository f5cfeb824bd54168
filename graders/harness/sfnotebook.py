"""Notebook submissions, on the trusted side inside the sandbox.

A lab that accepts notebooks names the module(s) a notebook stands for (lab.toml
`[notebook] module = "retriever.py"`, or a list). When the submission holds a notebook and not that
module, sfharness.prepare_workspace calls prepare() here, which

1. executes the notebook with nbclient *as the learner* (the kernel is the learner's
   process, with a per-cell and a total time limit), so its outputs can be shown;
2. exports the learner-defined code from the notebook *as submitted* (imports,
   functions, classes and assignments; not calls, loops or magics) to the module file,
   so the lab's driver observes it exactly as it observes a file submission;
3. writes /out/notebook.json: each code cell's outputs as plain text, capped, for the
   submission page (the host treats it as display data only, never as a verdict).

Imports nothing outside the standard library at module level: labs without notebooks
never pay for nbformat.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = "/out/notebook.json"
LEARNER_UID = int(os.environ.get("SF_LEARNER_UID", "1002"))
EXECUTED = ".sf-executed.ipynb"  # written by the learner's process into /work
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_TEXT_CAP = 4000  # characters of output shown per cell


@dataclass(frozen=True)
class NotebookConfig:
    modules: tuple[str, ...]
    cell_seconds: float = 30.0
    total_seconds: float = 120.0
    output_bytes: int = 64 * 1024

    @classmethod
    def from_env(cls) -> NotebookConfig | None:
        raw = os.environ.get("SF_NOTEBOOK")
        if not raw:
            return None
        data = json.loads(raw)
        return cls(tuple(str(m) for m in data["modules"]), float(data["cell_seconds"]),
                   float(data["total_seconds"]), int(data["output_bytes"]))


# Runs as the learner (python3 -I -c EXECUTOR notebook out cell_seconds): /grader is not
# readable by the learner, so the code travels on the command line.
EXECUTOR = r"""
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
src, dest, per_cell = sys.argv[1], sys.argv[2], float(sys.argv[3])
nb = nbformat.read(src, as_version=4)
client = NotebookClient(nb, timeout=per_cell, kernel_name="python3", allow_errors=False,
                        record_timing=False, resources={"metadata": {"path": "/work"}})
status = "ok"
try:
    client.execute()
except CellTimeoutError:
    status = "cell_timeout"
except CellExecutionError:
    status = "error"
except DeadKernelError:
    status = "dead_kernel"
nb.metadata["sf_status"] = status
nbformat.write(nb, dest)
"""


def export_module(notebook: dict[str, Any]) -> tuple[str, list[str]]:
    """The module a notebook stands for, and a note per cell left out or trimmed.
    Cells are joined in order; a docstring is kept (the first one becomes __doc__)."""
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
            ast.Assign, ast.AnnAssign)
    parts: list[tuple[bool, str]] = []  # (is a docstring, source)
    future: list[str] = []  # `from __future__` must open a module: hoisted from any cell
    notes: list[str] = []
    index = 0
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        index += 1
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        # IPython syntax (magics, shell escapes) is not Python: comment it out.
        lines = [f"# {ln}" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError as exc:
            notes.append(f"cell {index}: syntax error on line {exc.lineno}: {exc.msg}; cell left out")
            continue
        kept = [node for node in tree.body if isinstance(node, keep) or _is_docstring(node)]
        if len(kept) < len(tree.body):
            notes.append(f"cell {index}: {len(tree.body) - len(kept)} top-level statement(s) that only run code "
                         "(calls, loops, prints) were not exported")
        for node in kept:
            text = ast.get_source_segment("\n".join(lines), node) or ast.unparse(node)
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                if text not in future:
                    future.append(text)
            else:
                parts.append((_is_docstring(node), text))
    # The module's docstring must stay its first statement, ahead of the __future__ imports.
    head = [parts.pop(0)[1]] if parts and parts[0][0] else []
    return "\n\n".join(head + future + [text for _, text in parts]) + "\n", notes


def _is_docstring(node: ast.stmt) -> bool:
    """A bare string (a docstring) runs nothing, and code may read __doc__: keep it."""
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def outputs(executed: dict[str, Any], cap: int) -> list[dict[str, Any]]:
    """Plain-text outputs per code cell, ANSI colours removed, each cell and the whole capped."""
    cells: list[dict[str, Any]] = []
    used = 0
    index = 0
    for cell in executed.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        index += 1
        chunks = []
        for out in cell.get("outputs", []) or []:
            kind = out.get("output_type")
            if kind == "stream":
                chunks.append(_text(out.get("text", "")))
            elif kind in ("execute_result", "display_data"):
                data = out.get("data", {}) or {}
                if "text/plain" in data:
                    chunks.append(_text(data["text/plain"]))
                elif data:
                    chunks.append(f"[{', '.join(sorted(data))} output not shown]")
            elif kind == "error":
                chunks.append("\n".join(_text(t) for t in out.get("traceback", []) or [])
                              or f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
        text = ANSI.sub("", "\n".join(c.rstrip("\n") for c in chunks if c))
        if len(text) > CELL_TEXT_CAP:
            text = text[:CELL_TEXT_CAP] + f"\n… ({len(text) - CELL_TEXT_CAP} more characters)"
        if used + len(text) > cap:
            text = "… (output limit reached)"
        used += len(text)
        count = cell.get("execution_count")
        cells.append({"cell": index, "execution_count": count if isinstance(count, int) else None, "text": text})
    return cells


def find_notebook(work: Path, config: NotebookConfig) -> Path | None:
    """The notebook to use: only when none of the modules was submitted."""
    if any((work / module).exists() for module in config.modules):
        return None
    notebooks = sorted(p for p in work.glob("*.ipynb") if p.is_file())
    return notebooks[0] if len(notebooks) == 1 else None


def read_learner_json(path: Path, cap: int) -> dict[str, Any] | None:
    """A JSON file the learner's process wrote: its own regular file (not a link to one
    of ours), under the cap; None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != LEARNER_UID or st.st_size > cap:
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            doc = json.loads(fh.read(cap + 1).decode("utf-8"))
        return doc if isinstance(doc, dict) else None
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def prepare(config: NotebookConfig, run_learner: Any, kill_learner: Any, work: Path = Path("/work"),
            submission: Path = Path("/submission")) -> dict[str, Any] | None:
    """Execute and export a submitted notebook; returns what was written to OUT, or None."""
    notebook = find_notebook(submission, config)
    if notebook is None:
        return None
    import asyncio
    import time

    original = json.loads(notebook.read_text(encoding="utf-8"))  # as submitted: intake validated it
    # Export first, as the driver, into a file the learner cannot replace (sticky /work,
    # O_EXCL|O_NOFOLLOW: never through a name the learner's code could have planted).
    source, notes = export_module(original)
    for module in config.modules:
        fd = os.open(work / module, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(source)
    started = time.monotonic()
    run = asyncio.run(run_learner(
        ["python3", "-I", "-c", EXECUTOR, notebook.name, EXECUTED, f"{config.cell_seconds:g}"],
        timeout=config.total_seconds, cwd=str(work), env={"JUPYTER_PLATFORM_DIRS": "1"},
    ))
    seconds = time.monotonic() - started
    status = run.termination
    kill_learner()  # nothing of the learner's may swap the file while we read it
    executed = read_learner_json(work / EXECUTED, 16 * config.output_bytes)
    if executed is None:
        status = "error" if status == "ok" else status
    else:
        status = str(executed.get("metadata", {}).get("sf_status", status))
    doc = {
        "notebook": notebook.name,
        "module": ", ".join(config.modules),
        "status": status,  # ok | error | cell_timeout | dead_kernel | timeout | output_limit
        "seconds": round(seconds, 2),
        "notes": notes,
        "cells": outputs(executed, config.output_bytes) if executed else [],
        "log": (run.stdout + run.stderr).decode("utf-8", "replace")[-2000:] if status != "ok" else "",
    }
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, sort_keys=True)
    return doc

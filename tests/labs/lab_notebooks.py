"""A learner's notebook made from a lab's solution files: one markdown cell, then one code
cell per module (its whole source), plus a cell that only runs code (a demo call), which
the export must leave out. Used by the labs that take notebooks."""

from __future__ import annotations

import json
import re
from pathlib import Path

MAIN_GUARD = re.compile(r'^if __name__ == "__main__":\n(?:[ \t]+.*\n?)+', re.MULTILINE)


def notebook_of(folder: Path, modules: tuple[str, ...], demo: str = "print('ready')\n") -> bytes:
    cells = [{"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# My solution, as a notebook"}]
    for i, name in enumerate(modules):
        cells.append({"cell_type": "code", "id": f"m{i}", "metadata": {}, "execution_count": None, "outputs": [],
                      # a notebook runs as __main__: a script's main guard has no place in one
                      "source": MAIN_GUARD.sub("", (folder / name).read_text(encoding="utf-8"))})
    cells.append({"cell_type": "code", "id": "demo", "metadata": {}, "execution_count": None, "outputs": [],
                  "source": demo})
    doc = {"nbformat": 4, "nbformat_minor": 5, "cells": cells,
           "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    return json.dumps(doc).encode()

"""What changed between two lab folders (two published versions, or a version and the draft)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from .drafts import is_text

MAX_DIFF_LINES = 2000


@dataclass
class FileDiff:
    path: str
    change: str  # added | removed | changed
    lines: list[tuple[str, str]] = field(default_factory=list)  # (css class, text) of a unified diff
    binary: bool = False


def _files(root: Path | None) -> dict[str, Path]:
    if root is None or not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _classify(line: str) -> str:
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "add"
    if line.startswith("-"):
        return "del"
    return "ctx"


def diff_trees(old: Path | None, new: Path | None) -> list[FileDiff]:
    a, b = _files(old), _files(new)
    out = []
    for path in sorted(set(a) | set(b)):
        before = a[path].read_bytes() if path in a else None
        after = b[path].read_bytes() if path in b else None
        if before == after:
            continue
        change = "added" if before is None else "removed" if after is None else "changed"
        texts = [x for x in (before, after) if x is not None]
        if not all(is_text(path, x) for x in texts):
            out.append(FileDiff(path, change, binary=True))
            continue
        old_lines = (before or b"").decode("utf-8").splitlines()
        new_lines = (after or b"").decode("utf-8").splitlines()
        lines = list(difflib.unified_diff(old_lines, new_lines, fromfile=f"a/{path}", tofile=f"b/{path}", lineterm="",
                                          n=3))[2:]
        shown = [(_classify(line), line) for line in lines[:MAX_DIFF_LINES]]
        if len(lines) > MAX_DIFF_LINES:
            shown.append(("hunk", f"… {len(lines) - MAX_DIFF_LINES} more lines"))
        out.append(FileDiff(path, change, shown))
    return out

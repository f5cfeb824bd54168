"""Content hashes of folders: the identity of a lab version and of a submission."""

from __future__ import annotations

import hashlib
from pathlib import Path


def tree_hash(root: Path, *, exclude: frozenset[str] = frozenset({"__pycache__", ".pytest_cache"})) -> str:
    """sha256 over sorted relative paths and bytes; stable across machines and runs."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root)
        if any(part in exclude for part in rel.parts) or path.suffix == ".pyc":
            continue
        if path.is_symlink():
            h.update(b"L" + rel.as_posix().encode() + b"\0" + str(path.readlink()).encode() + b"\0")
        elif path.is_file():
            data = path.read_bytes()
            h.update(b"F" + rel.as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return "sha256:" + h.hexdigest()


def bytes_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()

"""A versioned prompt registry: content-addressed storage with semantic version labels.

Your job (read brief.md for the full rules): implement register, versions, get and diff.
Every function takes the registry folder `root` first, so any process (your eval script,
the gate in CI, a notebook) that is given the same folder sees the same versions.

A suggested layout (like git's object store; any layout under `root` is fine):

    <root>/<name>/objects/<sha256>.txt   each distinct content, stored once, named by its hash
    <root>/<name>/index.json             [{"version": "1.0.0", "hash": "<sha256>"}, ...] oldest first

Standard library only. Run the public tests with:  python -m pytest public_tests -q
"""

from __future__ import annotations

import difflib  # noqa: F401  (you will need it for diff)
import hashlib  # noqa: F401  (you will need it for content_hash)
import json  # noqa: F401
import os
import re  # noqa: F401
import tempfile
from pathlib import Path

BUMPS = ("major", "minor", "patch")


def content_hash(content: str) -> str:
    """The identity of a prompt version.

    TODO: the SHA-256 hex digest of the exact content encoded as UTF-8. Nothing else
          goes into it (no name, no label, no time): the same text must always get the
          same hash, in any process.
    """
    raise NotImplementedError("content_hash")


def write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file, then rename it over `path`: a reader (another process)
    never sees half a file. Bytes, not text mode, so "\\r\\n" in a prompt survives.
    (Complete: use it for every file you write.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8"))
    os.replace(tmp, path)


def register(root: str, name: str, content: str, *, bump: str = "patch") -> dict:
    """Store `content` as a version of the prompt `name`; return
    {"name": name, "version": "1.2.0", "hash": "<sha256 hex>", "created": True|False}.

    TODO:
    - content already registered under `name` (the latest or any older version): return
      that version with created=False, whatever `bump` says, and change nothing;
    - otherwise the first version of a name is "1.0.0", and a new content bumps the
      LATEST version: "major" 1.4.2 -> 2.0.0, "minor" 1.4.2 -> 1.5.0, "patch" 1.4.2 -> 1.4.3;
      return it with created=True;
    - a `bump` other than major / minor / patch is a ValueError.
    """
    raise NotImplementedError("register")


def versions(root: str, name: str) -> list[dict]:
    """Every version of `name`, oldest first: [{"version": "1.0.0", "hash": "..."}, ...]
    ([] for a name never registered).

    TODO
    """
    raise NotImplementedError("versions")


def get(root: str, name: str, ref: str) -> dict:
    """One version: {"name", "version", "hash", "content"}.

    TODO: `ref` is a version label ("1.2.0"), a full content hash (64 hex digits), or
          "latest" (the newest version). Raise KeyError when there is no such version.
    """
    raise NotImplementedError("get")


def diff(root: str, name: str, old: str, new: str) -> str:
    """A unified diff from version `old` to version `new` (each a label, hash or "latest").

    TODO: difflib.unified_diff over content.splitlines() of both versions, with
          fromfile=f"{name}@{old_version}", tofile=f"{name}@{new_version}" and
          lineterm="", joined with "\\n".
    """
    raise NotImplementedError("diff")

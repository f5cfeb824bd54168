"""A versioned prompt registry: content-addressed storage with semantic version labels.

Layout of a registry folder (one per project, shared by every process that uses it):

    <root>/<name>/objects/<sha256>.txt   each distinct content, stored once, named by its hash
    <root>/<name>/index.json             [{"version": "1.0.0", "hash": "<sha256>"}, ...] oldest first

The hash is the SHA-256 of the exact content (UTF-8), so the same text always has the
same identity, in any process, on any machine; registering it again changes nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

BUMPS = ("major", "minor", "patch")
SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _folder(root: str, name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ValueError(f"invalid prompt name {name!r}")
    return Path(root) / name


def _index(folder: Path) -> list[dict]:
    try:
        return json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename it: a reader never sees half a file.
    Bytes, not text mode, so a "\r\n" in a prompt is stored exactly as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8"))
    os.replace(tmp, path)


def _next_version(latest: str | None, bump: str) -> str:
    if bump not in BUMPS:
        raise ValueError(f"bump must be one of {BUMPS}, got {bump!r}")
    if latest is None:
        return "1.0.0"
    major, minor, patch = (int(x) for x in SEMVER.fullmatch(latest).groups())  # type: ignore[union-attr]
    if bump == "major":
        return f"{major + 1}.0.0"
    if bump == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def register(root: str, name: str, content: str, *, bump: str = "patch") -> dict:
    """Store `content` as a version of prompt `name`.

    Content already registered under this name returns its existing version
    (created=False), whatever `bump` says. New content gets the next version after the
    latest one (the first version is 1.0.0)."""
    if not isinstance(content, str):
        raise TypeError("content must be a string")
    folder = _folder(root, name)
    digest = content_hash(content)
    index = _index(folder)
    for entry in index:
        if entry["hash"] == digest:
            return {"name": name, "version": entry["version"], "hash": digest, "created": False}
    version = _next_version(index[-1]["version"] if index else None, bump)
    obj = folder / "objects" / f"{digest}.txt"
    if not obj.exists():
        _write_atomic(obj, content)
    index.append({"version": version, "hash": digest})
    _write_atomic(folder / "index.json", json.dumps(index, indent=1))
    return {"name": name, "version": version, "hash": digest, "created": True}


def versions(root: str, name: str) -> list[dict]:
    """Every version of `name`, oldest first: [{"version", "hash"}, ...]."""
    return [{"version": e["version"], "hash": e["hash"]} for e in _index(_folder(root, name))]


def get(root: str, name: str, ref: str) -> dict:
    """A version by label ("1.2.0"), by content hash (64 hex digits) or "latest":
    {"name", "version", "hash", "content"}. KeyError when there is none."""
    folder = _folder(root, name)
    index = _index(folder)
    if ref == "latest":
        found = index[-1:]
    else:
        found = [e for e in index if ref in (e["version"], e["hash"])]
    if not found:
        raise KeyError(f"{name}: no version {ref!r}")
    entry = found[0]
    content = (folder / "objects" / f"{entry['hash']}.txt").read_bytes().decode("utf-8")
    return {"name": name, "version": entry["version"], "hash": entry["hash"], "content": content}


def diff(root: str, name: str, old: str, new: str) -> str:
    """A unified diff of the content of version `old` -> version `new` (labels or hashes)."""
    a, b = get(root, name, old), get(root, name, new)
    lines = difflib.unified_diff(a["content"].splitlines(), b["content"].splitlines(),
                                 fromfile=f"{name}@{a['version']}", tofile=f"{name}@{b['version']}", lineterm="")
    return "\n".join(lines)

"""Published lab versions on disk: DATA_DIR/labversions/<sha256 hex>/, written once.

A snapshot is a copy of the lab folder whose tree hash equals the version's content
hash, checked when written and again when loaded, so a published version never
changes under a learner (editing labs/ afterwards makes a new version on re-import).
"""

from __future__ import annotations

import shutil
import uuid
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from graders import LabSpec, load_lab
from graders.hashing import tree_hash

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class SnapshotError(RuntimeError):
    """A snapshot is missing or its files no longer match its content hash (for operators)."""


def snapshot_dir(content_hash: str) -> Path:
    algorithm, _, hexdigest = content_hash.partition(":")
    if algorithm != "sha256" or not hexdigest.isalnum():
        raise SnapshotError(f"not a content hash: {content_hash!r}")
    return Path(settings.SKILLFORGE_DATA_DIR) / "labversions" / hexdigest


def write_snapshot(spec: LabSpec) -> Path:
    """Copy the lab folder to its snapshot (once; an intact existing snapshot is kept)."""
    dest = snapshot_dir(spec.content_hash)
    if dest.is_dir() and tree_hash(dest) == spec.content_hash:
        return dest
    staging = dest.with_name(f".incoming-{uuid.uuid4().hex}")
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(spec.root, staging, symlinks=True, ignore=IGNORE)
        copied = tree_hash(staging)
        if copied != spec.content_hash:
            raise SnapshotError(f"{spec.root} changed while it was being copied ({copied} != {spec.content_hash})")
        if dest.exists():  # a damaged earlier copy: replace it
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def load_snapshot(content_hash: str) -> LabSpec:
    return _load(str(snapshot_dir(content_hash)), content_hash)


@lru_cache(maxsize=64)
def _load(folder: str, content_hash: str) -> LabSpec:
    # Snapshots are immutable, so a process may keep what it parsed (and hashed) once.
    if not Path(folder).is_dir():
        raise SnapshotError(f"the snapshot of lab version {content_hash} is missing from {folder}")
    spec = load_lab(Path(folder))
    if spec.content_hash != content_hash:
        raise SnapshotError(f"the snapshot in {folder} no longer matches {content_hash} (now {spec.content_hash})")
    return spec

"""Host-side folders a run mounts, and the checks on files a run hands back.

Both backends bind-mount the same three folders, prepared here with the ownership
that keeps the learner's user out of the driver's files (the engine is local: a worker
and its Docker engine share a host, as they do for bubblewrap).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .spec import DRIVER_UID, RunSpec


@dataclass(frozen=True)
class Staged:
    root: Path
    submission: Path  # world-readable copy, read-only inside
    grader: Path  # owned by the driver, mode 0700: the learner cannot list or read it
    out: Path  # owned by the driver, mode 0700: only the driver writes results


def _copy_tree(src: Path | None, dst: Path, *, uid: int, dir_mode: int, file_mode: int) -> None:
    dst.mkdir(mode=dir_mode, exist_ok=True)
    if src is not None:
        # symlinks=True copies links as links; the sandbox sees them as links to paths
        # inside its own root, never the host's.
        shutil.copytree(src, dst, dirs_exist_ok=True, symlinks=True)
    for path in [dst, *dst.rglob("*")]:
        if path.is_symlink():
            os.lchown(path, uid, uid)
            continue
        os.chown(path, uid, uid)
        os.chmod(path, dir_mode if path.is_dir() else file_mode)


def _base() -> str | None:
    return os.environ.get("SKILLFORGE_SANDBOX_TMP") or None


def sweep_stale(max_age_seconds: float) -> int:
    """Remove staging folders older than any run can last: left by a worker killed -9.
    (Bubblewrap's scratch mounts inside them are lazily unmounted first.)"""
    import subprocess
    import time

    removed = 0
    for root in Path(_base() or tempfile.gettempdir()).glob("sf-run-*"):
        try:
            if time.time() - root.stat().st_mtime < max_age_seconds:
                continue
        except OSError:
            continue
        for scratch in root.glob("scratch-*"):
            subprocess.run(["umount", "-l", str(scratch)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        removed += 1
    return removed


def make_dirs() -> Staged:
    """Empty folders with their owners and modes, ready to mount (and fill later)."""
    root = Path(tempfile.mkdtemp(prefix="sf-run-", dir=_base()))
    os.chmod(root, 0o755)
    s = Staged(root, root / "submission", root / "grader", root / "out")
    _copy_tree(None, s.submission, uid=0, dir_mode=0o755, file_mode=0o644)
    _copy_tree(None, s.grader, uid=DRIVER_UID, dir_mode=0o700, file_mode=0o600)
    _copy_tree(None, s.out, uid=DRIVER_UID, dir_mode=0o700, file_mode=0o600)
    return s


def fill(s: Staged, spec: RunSpec) -> None:
    """Copy a run's files in. Bind mounts are live, so this works after a sandbox started."""
    _copy_tree(spec.submission, s.submission, uid=0, dir_mode=0o755, file_mode=0o644)
    _copy_tree(spec.trusted, s.grader, uid=DRIVER_UID, dir_mode=0o700, file_mode=0o600)


def remove(s: Staged) -> None:
    shutil.rmtree(s.root, ignore_errors=True)


@contextmanager
def staged(spec: RunSpec) -> Iterator[Staged]:
    s = make_dirs()
    try:
        fill(s, spec)
        yield s
    finally:
        remove(s)


def collect_returns(out: Path, names: tuple[str, ...], cap: int) -> tuple[dict[str, bytes], dict[str, str]]:
    """Read the files a run may return: regular, single-link files under the cap only.

    Anything else (a symlink that could point at a host file, a hard link to one, a
    device, a FIFO that would block us, an oversized file) is refused with a reason.
    """
    files: dict[str, bytes] = {}
    refused: dict[str, str] = {}
    for name in names:
        path = out / name
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            continue
        except OSError as exc:  # ELOOP: it is a symlink
            refused[name] = f"not a regular file ({exc.strerror})"
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                refused[name] = "not a regular file"
            elif st.st_nlink != 1:
                refused[name] = "a hard link"
            elif st.st_size > cap:
                refused[name] = f"{st.st_size} bytes, over the {cap}-byte cap"
            else:
                with os.fdopen(os.dup(fd), "rb") as fh:
                    data = fh.read(cap + 1)
                if len(data) > cap:
                    refused[name] = f"over the {cap}-byte cap"
                else:
                    files[name] = data
        finally:
            os.close(fd)
    return files, refused

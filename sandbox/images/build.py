"""Build a lab image from Debian: debootstrap minbase + Python, wheels built on the host.

    python -m sandbox.images.build lab-python [--docker] [--mirror URL]

Writes var/images/skillforge_<name>/rootfs (the bubblewrap root) and, with --docker,
imports it as skillforge/<name>. Re-running reuses the debootstrap stage when the
recipe is unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from ..spec import DRIVER_UID, LEARNER_UID
from . import _folder, recipe


def _lines(path: Path) -> list[str]:
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines() if ln.split("#")[0].strip()]


def default_mirror() -> str:
    for source in sorted(Path("/etc/apt/sources.list.d").glob("*")) + [Path("/etc/apt/sources.list")]:
        if source.is_file():
            match = re.search(r"(?:URIs:|deb)\s+(https?://\S+/debian)\b", source.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def recipe_digest(name: str) -> str:
    h = hashlib.sha256()
    for path in sorted(recipe(name).rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    h.update(Path(__file__).read_bytes())  # how it is built is part of what it is
    h.update(f"{DRIVER_UID}:{LEARNER_UID}".encode())
    return "sha256:" + h.hexdigest()


def _debootstrap(name: str, target: Path, mirror: str) -> None:
    packages = ",".join(_lines(recipe(name) / "packages.txt"))
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={packages}", "bookworm", str(target), mirror],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _harden(root: Path) -> None:
    """No setuid/setgid programs; the two sandbox users exist by name."""
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        mode = path.stat().st_mode
        if mode & (stat.S_ISUID | stat.S_ISGID):
            os.chmod(path, mode & ~(stat.S_ISUID | stat.S_ISGID))
    with (root / "etc/passwd").open("a") as fh:
        fh.write(f"driver:x:{DRIVER_UID}:{DRIVER_UID}::/tmp:/usr/sbin/nologin\n")
        fh.write(f"learner:x:{LEARNER_UID}:{LEARNER_UID}::/tmp:/usr/sbin/nologin\n")
    with (root / "etc/group").open("a") as fh:
        fh.write(f"driver:x:{DRIVER_UID}:\nlearner:x:{LEARNER_UID}:\n")
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        shutil.rmtree(root / junk, ignore_errors=True)
        (root / junk).mkdir(parents=True, exist_ok=True)
    for mount in ("submission", "grader", "out"):
        (root / mount).mkdir(exist_ok=True)
    # Docker copies a mount point's mode onto the tmpfs over it: /work must be 1777 like /tmp.
    (root / "work").mkdir(exist_ok=True)
    os.chmod(root / "work", 0o1777)


def _install_wheels(name: str, root: Path) -> None:
    requirements = recipe(name) / "requirements.txt"
    if not _lines(requirements):
        return
    site = root / "usr/local/lib/python3.11/dist-packages"
    with tempfile.TemporaryDirectory() as wheels:
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        # --no-deps: requirements.txt pins the whole environment, nothing more comes in.
        subprocess.run([*pip, "wheel", "--no-deps", "-w", wheels, "-r", str(requirements)], check=True)
        subprocess.run(
            [*pip, "install", "--no-deps", "--no-compile", "--target", str(site), *map(str, Path(wheels).glob("*.whl"))],
            check=True,
        )
    # Byte-compile now: the root is read-only in a sandbox, so without .pyc files every run
    # would recompile numpy & co. Same CPython minor version (3.11) as the image; paths in
    # the .pyc files are the image's own, not this build folder's.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "-s", str(root), "-p", "/", str(site)],
        check=False,
    )


def build(name: str, *, mirror: str, docker: bool) -> str:
    folder = _folder(f"skillforge/{name}")
    digest = recipe_digest(name)
    done = folder / "digest"
    if not (done.is_file() and done.read_text().strip() == digest):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        staging = folder / "rootfs.partial"
        print(f"debootstrap {name} from {mirror} ...", flush=True)
        _debootstrap(name, staging, mirror)
        _install_wheels(name, staging)
        _harden(staging)
        staging.rename(folder / "rootfs")
        done.write_text(digest + "\n")
    if docker:
        _docker_import(name, folder / "rootfs", digest)
    print(f"skillforge/{name} {digest}")
    return digest


def _docker_import(name: str, rootfs: Path, digest: str) -> None:
    import docker

    client = docker.from_env(timeout=600)
    tag = f"skillforge/{name}"
    try:
        if client.images.get(tag).labels.get("skillforge.recipe") == digest:
            return
    except docker.errors.ImageNotFound:
        pass
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    client.api.import_image_from_stream(
        tar.stdout, repository=tag, tag="latest", changes=[f'LABEL skillforge.recipe="{digest}"']
    )
    if tar.wait() != 0:
        raise RuntimeError("tar of the root folder failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", default=["lab-python"])
    parser.add_argument("--docker", action="store_true", help="also import into the Docker engine")
    parser.add_argument("--mirror", default=default_mirror())
    args = parser.parse_args(argv)
    for name in args.names:
        build(name, mirror=args.mirror, docker=args.docker)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

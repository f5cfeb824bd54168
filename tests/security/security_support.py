"""What the attack suite shares: the attack lab's constants and canary values, the
leftover and escape checks run around every test, and the Outcome of one attack.
(Fixtures live in conftest.py; this module has a name no other test folder uses.)"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import secrets
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ATTACK_LAB = HERE / "attack_lab"
ATTACKS = HERE / "attacks"
SLUG = "security-attack"
API_URL = f"/api/labs/{SLUG}/submissions"
ANSWER = json.loads((ATTACK_LAB / "checks" / "expected" / "answer.json").read_text())[0]
PWNED = "sf-security-pwned"
SANDBOX_UIDS = {1001, 1002}  # sandbox.spec.DRIVER_UID, LEARNER_UID

# Canary values: random per session, with a fixed prefix the attacks search for.
TOKEN = secrets.token_hex(6)
ENV_SECRETS = {
    "SKILLFORGE_TEST_SECRET": f"SFCANARY-env-{TOKEN}",
    "AWS_SECRET_ACCESS_KEY": f"SFCANARY-aws-{TOKEN}",
    "SECRET_KEY": f"SFCANARY-django-{TOKEN}",
}
HOST_CANARY_TEXT = f"SFCANARY-host-{TOKEN}\n"
ALL_SECRETS = (*ENV_SECRETS.values(), HOST_CANARY_TEXT.strip(), ANSWER)


# --- what a sandbox could leave on the host ------------------------------------------------


def _rootfs() -> Path | None:
    from sandbox import images

    try:
        return images.rootfs("skillforge/lab-python")
    except images.ImageMissing:
        return None


def _pwned_dirs() -> list[Path]:
    """Where an escaped write would land: host temp folders, /, the repo, the bubblewrap root."""
    dirs = [Path(p) for p in ("/", "/tmp", "/var/tmp", "/dev/shm", "/root", "/run", "/work")]
    dirs += [REPO, REPO / "var", REPO / "tests" / "security"]
    rootfs = _rootfs()
    if rootfs is not None:
        dirs += [rootfs] + [rootfs / d for d in ("tmp", "work", "out", "grader", "submission", "var/tmp", "run/lock")]
    return dirs


def fingerprint(path: Path) -> tuple[Any, ...]:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return ("absent",)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
    return (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, st.st_nlink, digest)


def watched_files(canaries: list[Path]) -> list[Path]:
    files = list(canaries)
    rootfs = _rootfs()
    if rootfs is not None:
        files += [rootfs / p for p in ("etc/passwd", "etc/shadow", "etc/hosts", "usr/lib/python3.11/site.py",
                                       "usr/bin/python3.11", "usr/bin/setpriv", "tmp", "work", "out", "grader")]
    files += [ATTACK_LAB / "checks" / "driver" / "driver.py", ATTACK_LAB / "checks" / "expected" / "answer.json",
              REPO / "graders" / "harness" / "sfharness.py", Path("/etc/passwd"), Path("/etc/hosts")]
    return files


OUR_PID = os.getpid()
OUR_OWNER = f"{socket.gethostname()}:{OUR_PID}"  # docker_backend.OWNER's value for our containers


def _stat(pid: int) -> tuple[str, int]:
    """(command name, parent pid) of a process."""
    text = Path(f"/proc/{pid}/stat").read_text()
    comm = text[text.index("(") + 1 : text.rindex(")")]
    return comm, int(text[text.rindex(")") + 2 :].split()[1])


def _container_owners() -> dict[str, str]:
    from sandbox import docker_backend

    if not docker_backend.available():
        return {}
    return docker_backend.sandboxes()


def _foreign(pid: int, owners: dict[str, str]) -> bool:
    """Whether a sandbox process belongs to another grader on this machine (another test
    session, a running site): it sits in a container another process owns, or under a
    bwrap that another process started. Anything else (ours, or escaped to the host's
    init) counts as ours."""
    try:
        match = re.search(r"/docker/([0-9a-f]{64})", Path(f"/proc/{pid}/cgroup").read_text())
        if match:
            owner = owners.get(match.group(1))
            return owner is not None and owner != OUR_OWNER
        while pid > 1:
            comm, parent = _stat(pid)
            if comm == "bwrap" and _stat(parent)[0] != "bwrap":
                return parent != OUR_PID
            pid = parent
    except (OSError, ValueError, IndexError):
        pass
    return False


def sandbox_processes(owners: dict[str, str] | None = None) -> dict[int, str]:
    """Our processes on the host whose real or effective uid is a sandbox user."""
    owners = _container_owners() if owners is None else owners
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        uids = {int(u) for line in status.splitlines() if line.startswith("Uid:") for u in line.split()[1:3]}
        if uids & SANDBOX_UIDS and not _foreign(int(entry.name), owners):
            state = next((line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith("State:")), "")
            found[int(entry.name)] = f"{cmdline.strip()} [{state}]"
    return found


def _our_cgroups(owners: dict[str, str]) -> set[str]:
    found = set()
    for controller in ("memory", "pids", "cpuacct"):
        for group in Path(f"/sys/fs/cgroup/{controller}/skillforge").glob("*"):
            try:
                pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                continue
            if not any(_foreign(pid, owners) for pid in pids):
                found.add(str(group))
    return found


def leftovers(extra_roots: list[Path]) -> dict[str, set[str]]:
    """Everything our runs could leave behind, compared before/after. Other graders on this
    machine (a test session beside ours, a running site) may be running sandboxes right
    now: their containers, cgroups and processes are told apart and left out, and our own
    temp folders live in a private folder (`private_tmp`)."""
    owners = _container_owners()
    temp = set()
    for pattern in ("sf-run-*", "sf-trusted-*", "sf-grade-*"):
        temp |= set(glob.glob(os.path.join(tempfile.gettempdir(), pattern)))
    owned = set()
    for folder in ("/tmp", "/var/tmp", "/dev/shm", str(REPO / "var"), tempfile.gettempdir()):
        for entry in glob.glob(os.path.join(folder, "*")) + glob.glob(os.path.join(folder, ".*")):
            try:
                if os.lstat(entry).st_uid in SANDBOX_UIDS:
                    owned.add(entry)
            except OSError:
                pass
    pwned = set()
    for folder in _pwned_dirs():
        pwned |= set(glob.glob(str(folder / f"{PWNED}*"))) | set(glob.glob(str(folder / "sf-imported-*")))
    for root in extra_roots:
        pwned |= {str(p) for p in root.rglob(f"{PWNED}*")} if root.is_dir() else set()
    procs = {f"{pid} {cmd}" for pid, cmd in sandbox_processes(owners).items()}
    containers = {cid for cid, owner in owners.items() if owner == OUR_OWNER}
    return {"temp dirs": temp, "cgroups": _our_cgroups(owners), "containers": containers,
            "sandbox-user files": owned, "escaped writes": pwned, "sandbox-user processes": procs}


@dataclass
class Outcome:
    backend: str
    submission: Any
    attempt: Any
    page: str  # the submission page, as the learner's browser gets it

    @property
    def report(self) -> dict[str, Any]:
        assert self.attempt.report is not None, f"no report: {self.attempt.status}: {self.attempt.message}"
        return self.attempt.report

    @property
    def run(self) -> dict[str, Any]:
        return self.report["run"]

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        return {c["id"]: c for c in self.report["checks"]}

    @property
    def log(self) -> str:
        return self.run["learner_log"]

    @property
    def probe(self) -> dict[str, Any]:
        """What the attack program reported about itself (its last 'SFPROBE {json}' line)."""
        lines = [line for line in self.log.splitlines() if line.startswith("SFPROBE ")]
        assert lines, f"the attack printed no probe; its log: {self.log[-2000:]}"
        return json.loads(lines[-1][len("SFPROBE "):])

    def describe(self) -> str:
        rep = self.attempt.report or {}
        return (f"{self.backend}: status={self.attempt.status} termination={rep.get('run', {}).get('termination')} "
                f"score={self.attempt.score} message={self.attempt.message!r}")


def attack_files(name: str, **extra: str) -> dict[str, str]:
    files = {"main.py": (ATTACKS / f"{name}.py").read_text(encoding="utf-8")}
    files.update(extra)
    return files

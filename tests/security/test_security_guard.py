"""The guard has teeth: what `host_guard` looks for after every attack, it does find when
it is there (a process of the learner's uid, an escaped file, our container, our cgroup,
a changed canary), so a green attack test means "nothing was left", not "we did not look"."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

from security_support import PWNED, fingerprint, leftovers


def _new(before: dict[str, set[str]], kind: str, tmp_path: Path) -> set[str]:
    return leftovers([tmp_path])[kind] - before[kind]


def test_a_learner_process_on_the_host_is_seen(tmp_path):
    before = leftovers([tmp_path])
    proc = subprocess.Popen(["setpriv", "--reuid=1002", "--regid=1002", "--clear-groups", "sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        while not (seen := _new(before, "sandbox-user processes", tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(entry.startswith(f"{proc.pid} ") for entry in seen), seen
    finally:
        proc.kill()
        proc.wait()


def test_an_escaped_write_is_seen(tmp_path):
    before = leftovers([tmp_path])
    for path in (Path("/tmp") / f"{PWNED}-guard-selftest", tmp_path / "deep" / f"{PWNED}.py"):
        path.parent.mkdir(exist_ok=True)
        path.write_text("x")
        try:
            assert str(path) in _new(before, "escaped writes", tmp_path)
        finally:
            path.unlink()


def test_our_cgroup_is_seen():
    group = Path("/sys/fs/cgroup/pids/skillforge") / f"guard-selftest-{uuid.uuid4().hex}"
    before = leftovers([])
    try:
        group.mkdir(parents=True)
    except OSError:
        return  # no writable cgroup v1 here: bubblewrap runs fall back to rlimits, nothing to leave
    try:
        assert str(group) in leftovers([])["cgroups"] - before["cgroups"]
    finally:
        group.rmdir()


def test_our_container_is_seen(docker_runner):
    from sandbox import Limits, docker_backend

    before = leftovers([])
    slot = docker_backend.prepare(("skillforge/lab-python", Limits(), ()))
    try:
        assert slot.container.id in leftovers([])["containers"] - before["containers"]
        assert str(slot.dirs.root) in leftovers([])["temp dirs"] - before["temp dirs"]
    finally:
        docker_backend.destroy(slot)


def test_a_changed_canary_is_seen(host_canaries):
    path = host_canaries[0]
    original, st = path.read_bytes(), path.stat()
    print_before = fingerprint(path)
    try:
        path.write_bytes(original + b"!")
        assert fingerprint(path) != print_before
    finally:
        path.write_bytes(original)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fingerprint(path) == print_before

"""The sandbox contract against real backends (each test runs on bubblewrap and Docker)."""

from __future__ import annotations

import glob
import json
import os
import tempfile
from pathlib import Path

import pytest

from sandbox import Limits, RunSpec, Termination
from sandbox.staging import collect_returns

IMAGE = "skillforge/lab-python"
MiB = 1024 * 1024


def spec(code: str, *, trusted: Path | None = None, submission: Path | None = None, **limits: float) -> RunSpec:
    return RunSpec(
        image=IMAGE,
        command=("python3", "-c", code),
        trusted=trusted,
        submission=submission,
        returns=("result.json",),
        limits=Limits(**{"wall_seconds": 20, **limits}),  # type: ignore[arg-type]
        env={"PYTHONPATH": "/grader"},
    )


def test_exit_code_and_output(runner):
    r = runner(spec("import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)"))
    assert r.termination is Termination.OK
    assert r.exit_code == 3
    assert r.stdout == b"hello\n" and r.stderr == b"oops\n"
    assert r.image_digest


def test_driver_user_and_capabilities(runner):
    code = "import os; print(os.getuid(), open('/proc/self/status').read().split('CapEff:')[1].split()[0])"
    r = runner(spec(code))
    uid, caps = r.stdout.decode().split()
    assert uid == "1001"
    assert int(caps, 16) == (1 << 5) | (1 << 6) | (1 << 7)  # KILL, SETGID, SETUID and nothing else


def test_learner_cannot_read_grader_or_write_out(runner, tmp_path):
    trusted = tmp_path / "grader"
    trusted.mkdir()
    (trusted / "secret_expected.txt").write_text("the answer is 42")
    learner = (
        "import subprocess, json;"
        "p = subprocess.run(['setpriv','--reuid=1002','--regid=1002','--clear-groups','--inh-caps=-all',"
        "'--ambient-caps=-all','--','sh','-c','id -u; cat /grader/secret_expected.txt; echo x > /out/result.json;"
        " grep CapEff /proc/self/status; kill -9 1'], capture_output=True, text=True);"
        "json.dump({'out': p.stdout, 'err': p.stderr}, open('/out/result.json', 'w'))"
    )
    r = runner(spec(learner, trusted=trusted))
    doc = json.loads(r.files["result.json"])
    assert doc["out"].startswith("1002\n")
    assert "the answer is 42" not in doc["out"]
    assert "Permission denied" in doc["err"]
    assert "CapEff:\t0000000000000000" in doc["out"]
    assert "Operation not permitted" in doc["err"]  # cannot signal the driver


def test_environment_is_minimal(runner, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "host-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://host")
    r = runner(spec("import os, json; print(json.dumps(dict(os.environ)))"))
    env = json.loads(r.stdout)
    assert "SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert env["HOME"] == "/tmp"


@pytest.mark.parametrize("port", [5432, 6379])
def test_host_services_unreachable(runner, port):
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('connected')\n"
        "except OSError as e:\n"
        "    print('refused', e)\n"
    )
    r = runner(spec(code))
    assert r.stdout.startswith(b"refused"), r.stdout


def test_root_is_read_only_and_work_is_writable(runner):
    code = (
        "import os\n"
        "try:\n    open('/usr/evil', 'w'); print('wrote-root')\nexcept OSError: print('ro-root')\n"
        "open('/work/ok', 'w').write('x'); open('/tmp/ok', 'w').write('x'); print('work-ok')\n"
    )
    r = runner(spec(code))
    assert r.stdout.split() == [b"ro-root", b"work-ok"]


def test_wall_timeout(runner):
    r = runner(spec("import time; time.sleep(60)", wall_seconds=1))
    assert r.termination is Termination.TIMEOUT
    assert r.wall_seconds < 10


def test_output_flood(runner):
    r = runner(spec("import sys\nwhile True: sys.stdout.write('x' * 65536)", output_bytes=256 * 1024))
    assert r.termination is Termination.OUTPUT_LIMIT
    assert len(r.stdout) <= 256 * 1024


def test_memory_limit(runner):
    r = runner(spec("x = bytearray(400 * 2**20); x[::4096] = b'y' * len(x[::4096]); print('survived')",
                    memory_bytes=128 * MiB))
    assert r.termination is Termination.MEMORY, (r.termination, r.stdout, r.stderr)


def test_pids_limit(runner):
    code = (
        "import os, time\n"
        "kids = 0\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        kids += 1\n"
        "except OSError:\n"
        "    print('fork refused after', kids); raise SystemExit(1)\n"
    )
    r = runner(spec(code, pids=32, wall_seconds=10))
    assert r.termination is Termination.PIDS, (r.termination, r.stdout, r.stderr)


def test_returned_symlink_and_hardlink_are_refused(runner):
    code = (
        "import os\n"
        "os.symlink('/etc/passwd', '/out/result.json')\n"
    )
    r = runner(spec(code))
    assert "result.json" not in r.files
    assert "not a regular file" in r.refused["result.json"]


def test_collect_returns_refuses_hardlinks_fifos_and_big_files(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 2000)
    (tmp_path / "orig").write_text("{}")
    os.link(tmp_path / "orig", tmp_path / "hard")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "fine").write_text("{}")
    files, refused = collect_returns(tmp_path, ("big", "hard", "fifo", "fine", "absent"), cap=1000)
    assert files == {"fine": b"{}"}
    assert set(refused) == {"big", "hard", "fifo"}
    assert "hard link" in refused["hard"]


def _leftovers() -> set[str]:
    """Temp dirs, cgroups and containers that sandboxes make (compared before/after,
    since another process on this machine may be running sandboxes right now)."""
    from sandbox import docker_backend

    docker_backend.drain()
    found = set(glob.glob(os.path.join(tempfile.gettempdir(), "sf-run-*")))
    for controller in ("memory", "pids", "cpuacct"):
        found |= {str(p) for p in Path(f"/sys/fs/cgroup/{controller}/skillforge").glob("*") if p.is_dir()}
    return found | set(docker_backend.sandboxes())


def test_nothing_left_behind(docker_runner, bwrap_runner):
    before = _leftovers()
    for run in (docker_runner, bwrap_runner):
        run(spec("import os; os.fork() or __import__('time').sleep(100)", wall_seconds=1))
        run(spec("print('ok')"))
    assert _leftovers() <= before


def test_unknown_image_is_a_sandbox_error(runner):
    r = runner(RunSpec(image="skillforge/no-such-image", command=("true",)))
    assert r.termination is Termination.SANDBOX_ERROR
    assert "no-such-image" in r.message


def test_network_other_than_none_is_refused():
    with pytest.raises(ValueError, match="no network"):
        RunSpec(image=IMAGE, command=("true",), network="bridge")


def test_limits_are_capped_by_the_platform_ceiling():
    from sandbox import CEILING

    wanted = Limits(wall_seconds=10_000, memory_bytes=64 * 1024 * MiB)
    capped = wanted.capped(CEILING)
    assert capped.wall_seconds == CEILING.wall_seconds
    assert capped.memory_bytes == CEILING.memory_bytes


def test_disk_and_file_count_limits(runner):
    code = (
        "import os\n"
        "n = 0\n"
        "try:\n"
        "    for n in range(5000):\n"
        "        open(f'/work/f{n}', 'w').close()\n"
        "except OSError as e:\n"
        "    print('files', n, e.errno)\n"
        "try:\n"
        "    with open('/tmp/big', 'wb') as fh:\n"
        "        for _ in range(64): fh.write(b'x' * 2**20)\n"
        "except OSError as e:\n"
        "    print('disk', os.path.getsize('/tmp/big') // 2**20, e.errno)\n"
    )
    r = runner(spec(code, files=100, disk_bytes=8 * MiB))
    lines = r.stdout.decode().split("\n")
    files, disk = lines[0].split(), lines[1].split()
    assert files[0] == "files" and int(files[1]) < 100 and files[2] == "28"  # ENOSPC
    assert disk[0] == "disk" and int(disk[1]) <= 8 and disk[2] in ("27", "28")  # EFBIG or ENOSPC


def test_no_new_user_namespaces(runner):
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "for flags in (0x10000000, 0x10000000 | 0x00020000):\n"  # NEWUSER, NEWUSER|NEWNS
        "    print('unshared' if libc.unshare(flags) == 0 else f'refused {ctypes.get_errno()}')\n"
        "pid = os.fork()\n"  # ordinary process creation still works
        "if pid == 0: os._exit(0)\n"
        "print('forked', os.waitpid(pid, 0)[1])\n"
    )
    r = runner(spec(code))
    assert r.stdout.decode().split("\n")[:3] == ["refused 1", "refused 1", "forked 0"], r.stdout + r.stderr


def test_seccomp_program_refuses_foreign_abis():
    from sandbox import seccomp

    assert len(seccomp.program("x86_64")) == 13 * 8
    assert seccomp.program("x86_64") != seccomp.program("aarch64")


def test_stale_staging_folders_are_swept(tmp_path, monkeypatch):
    from sandbox import staging

    monkeypatch.setenv("SKILLFORGE_SANDBOX_TMP", str(tmp_path))
    old, fresh = staging.make_dirs(), staging.make_dirs()
    os.utime(old.root, (0, 0))
    assert staging.sweep_stale(max_age_seconds=3600) == 1
    assert not old.root.exists() and fresh.root.exists()

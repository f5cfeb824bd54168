"""The bubblewrap backend: for machines with no Docker engine (the embedded default).

The same lab image, unpacked as a root folder (images.rootfs), is bound read-only as
/, with fresh pid, net, ipc and uts namespaces, every capability dropped but the two
the driver needs, and no_new_privs (bwrap always sets it). Memory and pids limits come
from a cgroup v1 group made per run; where none can be made we fall back to rlimits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import cgroups, images, seccomp
from .identity import BASE_ENV, DRIVER_ARGV
from .spec import GRADER_DIR, OUT_DIR, SUBMISSION_DIR, WORK_DIR, Limits, RunResult, RunSpec, Termination
from .staging import Staged, collect_returns, staged


def available() -> bool:
    return shutil.which("bwrap") is not None and os.geteuid() == 0


SCRATCH = {WORK_DIR: "scratch-work", "/tmp": "scratch-tmp"}

# mount(2) and umount2(2) straight from libc: the same tmpfs mount(8) would make, without
# starting a `mount` and an `umount` process per folder from a large worker process
# (four fork+execs per run, ~30 ms of a grade on a busy machine).
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
MS_NOSUID, MS_NODEV, MNT_DETACH = 2, 4, 2


def _mount_tmpfs(target: Path, lim: Limits) -> bool:
    data = f"size={lim.disk_bytes},nr_inodes={lim.files},mode=1777".encode()
    return _LIBC.mount(b"sf-scratch", os.fsencode(target), b"tmpfs", MS_NOSUID | MS_NODEV, data) == 0


def _unmount(target: Path) -> None:
    _LIBC.umount2(os.fsencode(target), MNT_DETACH)


@contextmanager
def _scratch(st: Staged, lim: Limits) -> Iterator[bool]:
    """Mount the writable tmpfs on the host, where size AND file count can be set
    (bwrap's own --tmpfs takes a size only). False where mounting is not possible."""
    mounted: list[Path] = []
    try:
        for name in SCRATCH.values():
            target = st.root / name
            target.mkdir()
            if not _mount_tmpfs(target, lim):
                break
            mounted.append(target)
        yield len(mounted) == len(SCRATCH)
    finally:
        for target in mounted:
            _unmount(target)


def _argv(spec: RunSpec, st: Staged, rootfs: Path, *, scratch: bool, seccomp_fd: int | None) -> list[str]:
    argv = ["bwrap", "--ro-bind", str(rootfs), "/", "--proc", "/proc", "--dev", "/dev"]
    for mount, name in SCRATCH.items():
        if scratch:
            argv += ["--bind", str(st.root / name), mount]
        else:
            argv += ["--size", str(spec.limits.disk_bytes), "--perms", "1777", "--tmpfs", mount]
    argv += ["--ro-bind", str(st.submission), SUBMISSION_DIR]
    argv += ["--ro-bind", str(st.grader), GRADER_DIR]
    argv += ["--bind", str(st.out), OUT_DIR]
    # No user namespace: uids inside are real, so the driver/learner split holds.
    argv += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    argv += ["--hostname", "sandbox", "--die-with-parent", "--new-session"]
    argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_KILL"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--chdir", WORK_DIR, "--clearenv"]
    for key, value in {**BASE_ENV, **spec.env}.items():
        argv += ["--setenv", key, value]
    return [*argv, *DRIVER_ARGV, *spec.command]


def run(spec: RunSpec) -> RunResult:
    started = time.monotonic()
    if spec.gpus:  # device nodes alone are not enough: the driver libraries live on the host
        return RunResult.failed("bubblewrap", "GPU sandboxes need the Docker backend (with the NVIDIA runtime)",
                                started)
    try:
        rootfs = images.rootfs(spec.image)
        digest = images.rootfs_digest(spec.image)
    except images.ImageMissing as exc:
        return RunResult.failed("bubblewrap", str(exc), started)
    lim = spec.limits
    group = cgroups.Group(f"skillforge/{uuid.uuid4().hex}")
    has_group = group.create(memory_bytes=lim.memory_bytes, pids=lim.pids)

    def limit_child() -> None:  # runs in the child between fork and exec
        if has_group:
            group.add(os.getpid())
        cpu = max(1, int(lim.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        resource.setrlimit(resource.RLIMIT_FSIZE, (lim.disk_bytes, lim.disk_bytes))
        if not has_group:
            resource.setrlimit(resource.RLIMIT_AS, (lim.memory_bytes * 2, lim.memory_bytes * 2))

    with staged(spec) as st, _scratch(st, lim) as scratch:
        seccomp_fd = seccomp.pipe_with_program() if seccomp.supported() else None
        try:
            proc = subprocess.Popen(
                _argv(spec, st, rootfs, scratch=scratch, seccomp_fd=seccomp_fd),
                pass_fds=() if seccomp_fd is None else (seccomp_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                preexec_fn=limit_child,
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},
            )
        except OSError as exc:
            group.remove()
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            return RunResult.failed("bubblewrap", f"bwrap could not start: {exc}", started, digest)
        if seccomp_fd is not None:
            os.close(seccomp_fd)  # the child has its copy
        started = time.monotonic()
        try:
            termination, out, err = _pump(proc, lim.output_bytes, started + lim.wall_seconds)
            wall = time.monotonic() - started
            if termination is not Termination.OK:
                _kill(proc, group)
            exit_code = proc.wait()
            sample = cgroups.Sample(group)
            sample.update()
            if termination is Termination.OK:
                termination = _classify(exit_code, sample, has_group)
            files, refused = collect_returns(st.out, spec.returns, lim.return_bytes)
        finally:
            _kill(proc, group)
            proc.wait()
            group.remove()
    return RunResult(
        termination=termination,
        exit_code=exit_code if termination is Termination.OK else None,
        stdout=out,
        stderr=err,
        files=files,
        refused=refused,
        wall_seconds=wall,
        cpu_seconds=sample.cpu_seconds,
        peak_memory_bytes=sample.peak_memory,
        backend="bubblewrap",
        image_digest=digest,
    )


def _pump(proc: subprocess.Popen[bytes], cap: int, deadline: float) -> tuple[Termination, bytes, bytes]:
    """Read both pipes until exit, the output cap, or the deadline."""
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    sel = selectors.DefaultSelector()
    for stream in bufs:
        assert stream is not None
        os.set_blocking(stream.fileno(), False)
        sel.register(stream, selectors.EVENT_READ)
    termination = Termination.OK
    try:
        while sel.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                termination = Termination.TIMEOUT
                break
            for key, _ in sel.select(timeout=min(remaining, 0.5)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[key.fileobj]  # type: ignore[index]
                room = cap - len(buf)
                buf += chunk[: max(room, 0)]
                if len(chunk) > room:
                    termination = Termination.OUTPUT_LIMIT
            if termination is not Termination.OK:
                break
        if termination is Termination.OK:
            try:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                termination = Termination.TIMEOUT
    finally:
        sel.close()
    return termination, bytes(bufs[proc.stdout]), bytes(bufs[proc.stderr])


def _kill(proc: subprocess.Popen[bytes], group: cgroups.Group) -> None:
    # bwrap's pid namespace dies with its first child; killing the session catches
    # bwrap itself, and the cgroup catches anything that slipped out of both.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    group.kill_all()


def _classify(exit_code: int, sample: cgroups.Sample, has_group: bool) -> Termination:
    if sample.oom_kills > 0:
        return Termination.MEMORY
    if exit_code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        return Termination.TIMEOUT
    if sample.pids_hits > 0 and exit_code != 0:
        return Termination.PIDS
    if exit_code < 0:
        return Termination.KILLED
    return Termination.OK


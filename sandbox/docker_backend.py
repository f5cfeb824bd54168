"""The Docker backend: one fresh container per run, used once and destroyed.

A run has two steps. prepare() creates and starts an idle container over empty staging
folders; execute() copies the run's files in (bind mounts are live), runs the command
with `docker exec`, reads the container's own cgroup while it still exists, and
destroys the container. The pool (pool.py) runs prepare() ahead of demand, so a
submission need not wait for a container to start.

Deny by default: no network, read-only root, every capability dropped but the three the
driver needs (identity.py), no-new-privileges, pids, memory (swap included),
CPU-seconds, tmpfs sizes, and a wall clock enforced here.
"""

from __future__ import annotations

import atexit
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cgroups, staging
from .identity import BASE_ENV, DRIVER_ARGV
from .pool import Pool
from .spec import CEILING, GRADER_DIR, OUT_DIR, SUBMISSION_DIR, WORK_DIR, Limits, RunResult, RunSpec, Termination

LABEL = "skillforge.sandbox"
OWNER = "skillforge.owner"  # host:pid of the process whose pool made it


def client() -> Any:
    import docker

    return docker.from_env(timeout=30)


def available() -> bool:
    try:
        return bool(client().ping())
    except Exception:  # no SDK, no socket, engine down: all mean "not here"
        return False


def image_digest(image: str) -> str:
    return str(client().images.get(image).id)


Key = tuple[str, Limits, tuple[str, ...]]  # image, limits, gpus: what a ready sandbox fits


@dataclass(frozen=True)
class Slot:
    key: Key
    container: Any
    dirs: staging.Staged
    digest: str


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _create_kwargs(image: str, lim: Limits, gpus: tuple[str, ...], dirs: staging.Staged) -> dict[str, Any]:
    from docker.types import DeviceRequest, LogConfig, Ulimit

    cpu = max(1, int(lim.cpu_seconds))
    tmpfs_opts = f"size={lim.disk_bytes},nr_inodes={lim.files},mode=1777,nosuid,nodev"
    kwargs: dict[str, Any] = dict(
        image=image,
        # An idle PID 1 holds the container open until the run is exec'ed into it.
        command=["sleep", "infinity"],
        user="0:0",
        working_dir=WORK_DIR,
        environment=BASE_ENV,
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        cap_add=["SETUID", "SETGID", "KILL"],
        security_opt=["no-new-privileges:true"],
        pids_limit=lim.pids,
        shm_size=lim.disk_bytes,  # /dev/shm is writable too: same cap as /work and /tmp
        mem_limit=lim.memory_bytes,
        memswap_limit=lim.memory_bytes,
        ulimits=[
            Ulimit(name="cpu", soft=cpu, hard=cpu + 1),
            Ulimit(name="core", soft=0, hard=0),
            Ulimit(name="nofile", soft=256, hard=256),
            Ulimit(name="fsize", soft=lim.disk_bytes, hard=lim.disk_bytes),
        ],
        tmpfs={WORK_DIR: tmpfs_opts, "/tmp": tmpfs_opts},
        volumes={
            str(dirs.submission): {"bind": SUBMISSION_DIR, "mode": "ro"},
            str(dirs.grader): {"bind": GRADER_DIR, "mode": "ro"},
            str(dirs.out): {"bind": OUT_DIR, "mode": "rw"},
        },
        labels={LABEL: "1", OWNER: _owner()},
        log_config=LogConfig(type="json-file", config={"max-size": "64k", "max-file": "1"}),
        ipc_mode="private",
        detach=True,
    )
    if gpus:
        kwargs["device_requests"] = [DeviceRequest(device_ids=list(gpus), capabilities=[["gpu"]])]
    return kwargs


def prepare(key: Key) -> Slot:
    image, limits, gpus = key
    dc = client()
    digest = image_digest(image)
    dirs = staging.make_dirs()
    try:
        container = dc.containers.create(**_create_kwargs(image, limits, gpus, dirs))
    except Exception:
        staging.remove(dirs)
        raise
    slot = Slot(key, container, dirs, digest)
    try:
        container.start()
    except Exception:
        destroy(slot)
        raise
    return slot


def alive(slot: Slot) -> bool:
    try:
        slot.container.reload()
        return slot.container.status == "running"
    except Exception:
        return False


def destroy(slot: Slot) -> None:
    try:
        slot.container.remove(force=True)
    except Exception:
        pass  # gone already; the orphan sweep catches the rest
    staging.remove(slot.dirs)


# Removing a container takes ~50 ms; a run's result need not wait for it. Used slots
# go to one reaper thread; drain() waits for it (tests, shutdown).
_REAP: queue.Queue[Slot] = queue.Queue()


def _reaper() -> None:
    while True:
        slot = _REAP.get()
        try:
            destroy(slot)
        finally:
            _REAP.task_done()


def destroy_later(slot: Slot) -> None:
    _REAP.put(slot)  # remove(force=True) kills whatever still runs in it first


def drain() -> None:
    """Wait until every used sandbox has been removed."""
    _REAP.join()


threading.Thread(target=_reaper, name="sandbox-reaper", daemon=True).start()


POOL: Pool[Key, Slot] = Pool(int(os.environ.get("SKILLFORGE_POOL_SIZE", "0") or 0), make=prepare, alive=alive, destroy=destroy)


def configure_pool(size: int) -> Pool[Key, Slot]:
    """Replace the process-wide pool (a worker calls this at start-up); 0 disables it."""
    global POOL
    POOL.close()
    POOL = Pool(size, make=prepare, alive=alive, destroy=destroy)
    sweep_orphans()
    staging.sweep_stale(max_age_seconds=2 * CEILING.wall_seconds)
    return POOL


@atexit.register
def _shutdown() -> None:
    """A stopping process takes its ready sandboxes with it (sweep_orphans catches a kill -9)."""
    POOL.close()
    drain()


def warm(image: str, limits: Limits, gpus: tuple[str, ...] = ()) -> None:
    POOL.warm((image, limits, gpus))


def sandboxes(label: str = LABEL) -> dict[str, str]:
    """Container id -> owner label of every sandbox (or of those matching label="k=v").

    One list call, no inspect per container: with containers being removed all the
    time (single use), inspecting each one races their removal (404 No such container)."""
    found = client().api.containers(all=True, filters={"label": label})
    return {c["Id"]: (c.get("Labels") or {}).get(OWNER, "") for c in found}


def sweep_orphans() -> int:
    """Remove sandboxes a dead process on this host left behind (a worker killed -9)."""
    host = socket.gethostname()
    removed = 0
    try:
        containers = sandboxes()
    except Exception:
        return 0
    for container_id, owner in containers.items():
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or _pid_alive(int(pid)):
            continue
        try:
            client().api.remove_container(container_id, force=True)
            removed += 1
        except Exception:
            pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has exited already


class _Reader(threading.Thread):
    """Reads the exec's demuxed stream, capping each side, and notes a passed cap.

    It keeps draining after the cap: a stream nobody reads stalls the engine, and then
    even the kill that ends the run waits."""

    def __init__(self, stream: Any, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.out, self.err = bytearray(), bytearray()
        self.over = threading.Event()

    def run(self) -> None:
        try:
            for out, err in self.stream:
                for buf, chunk in ((self.out, out), (self.err, err)):
                    if chunk:
                        room = self.cap - len(buf)
                        if room > 0:
                            buf += chunk[:room]
                        if len(chunk) > room:
                            self.over.set()
        except Exception:  # the socket closes when the container is removed
            pass


def execute(slot: Slot, spec: RunSpec) -> RunResult:
    """Run spec in slot, then destroy slot whatever happened."""
    api = slot.container.client.api
    started = time.monotonic()
    try:
        staging.fill(slot.dirs, spec)
        exec_id = api.exec_create(
            slot.container.id,
            [*DRIVER_ARGV, *spec.command],
            user="0:0",
            workdir=WORK_DIR,
            environment={**BASE_ENV, **spec.env},
        )["Id"]
        reader = _Reader(api.exec_start(exec_id, stream=True, demux=True), spec.limits.output_bytes)
        started = time.monotonic()
        reader.start()
        termination = _wait(reader, started + spec.limits.wall_seconds)
        wall = time.monotonic() - started
        if termination is not Termination.OK:
            slot.container.kill()
            reader.join(timeout=5)
        exit_code = api.exec_inspect(exec_id).get("ExitCode")
        # The container still runs (its idle PID 1), so its cgroup can be read whole.
        sample = cgroups.Sample(cgroups.Group(f"docker/{slot.container.id}"))
        sample.update()
        if termination is Termination.OK:
            termination = _classify(exit_code, sample)
        files, refused = staging.collect_returns(slot.dirs.out, spec.returns, spec.limits.return_bytes)
        return RunResult(
            termination=termination,
            exit_code=exit_code if termination is Termination.OK else None,
            stdout=bytes(reader.out),
            stderr=bytes(reader.err),
            files=files,
            refused=refused,
            wall_seconds=wall,
            cpu_seconds=sample.cpu_seconds,
            peak_memory_bytes=sample.peak_memory,
            backend="docker",
            image_digest=slot.digest,
        )
    except Exception as exc:
        return RunResult.failed("docker", f"docker failed: {exc}", started, slot.digest)
    finally:
        destroy_later(slot)


def _wait(reader: _Reader, deadline: float) -> Termination:
    while reader.is_alive():
        if reader.over.is_set():
            return Termination.OUTPUT_LIMIT
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Termination.TIMEOUT
        reader.join(timeout=min(remaining, 0.05))
    return Termination.OUTPUT_LIMIT if reader.over.is_set() else Termination.OK


def _classify(exit_code: int | None, sample: cgroups.Sample) -> Termination:
    if sample.oom_kills > 0:
        return Termination.MEMORY
    if exit_code == 128 + 24:
        return Termination.TIMEOUT  # SIGXCPU: the CPU-seconds limit
    if sample.pids_hits > 0 and exit_code != 0:
        return Termination.PIDS
    if exit_code is not None and exit_code > 128:
        return Termination.KILLED
    return Termination.OK


def run(spec: RunSpec) -> RunResult:
    key = (spec.image, spec.limits, spec.gpus)
    slot = POOL.take(key)
    if slot is None:
        started = time.monotonic()
        try:
            slot = prepare(key)
        except Exception as exc:
            return RunResult.failed("docker", f"could not start a sandbox for image {spec.image!r}: {exc}", started)
    return execute(slot, spec)

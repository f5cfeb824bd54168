"""The Docker backend: one fresh container per run, destroyed afterwards.

Deny by default: no network, read-only root, every capability dropped but the two the
driver needs to become itself and start the learner's user, no-new-privileges, pids,
memory (swap included), CPU-seconds, tmpfs sizes, and a wall clock enforced here.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from . import cgroups
from .identity import BASE_ENV, DRIVER_ARGV
from .spec import GRADER_DIR, OUT_DIR, SUBMISSION_DIR, WORK_DIR, RunResult, RunSpec, Termination
from .staging import collect_returns, staged

LABEL = "skillforge.sandbox"


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


def _create_kwargs(spec: RunSpec, st: Any) -> dict[str, Any]:
    from docker.types import DeviceRequest, LogConfig, Ulimit

    lim = spec.limits
    cpu = max(1, int(lim.cpu_seconds))
    tmpfs_opts = f"size={lim.disk_bytes},mode=1777,nosuid,nodev"
    kwargs: dict[str, Any] = dict(
        image=spec.image,
        command=[*DRIVER_ARGV, *spec.command],
        user="0:0",
        working_dir=WORK_DIR,
        environment={**BASE_ENV, **spec.env},
        network_mode="none",
        read_only=True,
        cap_drop=["ALL"],
        cap_add=["SETUID", "SETGID", "KILL"],
        security_opt=["no-new-privileges:true"],
        pids_limit=lim.pids,
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
            str(st.submission): {"bind": SUBMISSION_DIR, "mode": "ro"},
            str(st.grader): {"bind": GRADER_DIR, "mode": "ro"},
            str(st.out): {"bind": OUT_DIR, "mode": "rw"},
        },
        labels={LABEL: "1"},
        # Output is read live from attach (before start, so nothing is missed); the
        # engine's own copy is kept small ("none" is not registered in every engine).
        log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        ipc_mode="private",
        detach=True,
        stdin_open=False,
    )
    if spec.gpus:
        kwargs["device_requests"] = [DeviceRequest(device_ids=list(spec.gpus), capabilities=[["gpu"]])]
    return kwargs


class _Reader(threading.Thread):
    """Reads the attached streams, capping each, and notes when a cap was passed."""

    def __init__(self, stream: Any, cap: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.cap = stream, cap
        self.out, self.err = bytearray(), bytearray()
        self.over = threading.Event()

    def run(self) -> None:
        # Keep draining after the cap is passed: a stream nobody reads stalls the
        # engine, and then even the kill that ends the run waits.
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


def run(spec: RunSpec) -> RunResult:
    dc = client()
    started = time.monotonic()
    try:
        digest = image_digest(spec.image)
    except Exception as exc:
        return RunResult.failed("docker", f"image {spec.image!r} is not available: {exc}", started)
    with staged(spec) as st:
        container = None
        try:
            container = dc.containers.create(**_create_kwargs(spec, st))
            stream = container.attach(stdout=True, stderr=True, stream=True, demux=True, logs=False)
            reader = _Reader(stream, spec.limits.output_bytes)
            reader.start()
            container.start()
            started = time.monotonic()
            sample = cgroups.Sample(cgroups.Group(f"docker/{container.id}"))
            termination = _wait(container, reader, spec.limits.wall_seconds, sample)
            wall = time.monotonic() - started
            reader.join(timeout=5)
            container.reload()
            state = container.attrs["State"]
            exit_code = None if termination is not Termination.OK else int(state.get("ExitCode", 0))
            if termination is Termination.OK or termination is Termination.KILLED:
                termination = _classify(state, sample, termination)
                if termination is not Termination.OK:
                    exit_code = None
            files, refused = collect_returns(st.out, spec.returns, spec.limits.return_bytes)
            return RunResult(
                termination=termination,
                exit_code=exit_code,
                stdout=bytes(reader.out),
                stderr=bytes(reader.err),
                files=files,
                refused=refused,
                wall_seconds=wall,
                cpu_seconds=sample.cpu_seconds,
                peak_memory_bytes=sample.peak_memory,
                backend="docker",
                image_digest=digest,
            )
        except Exception as exc:
            return RunResult.failed("docker", f"docker failed: {exc}", started, digest)
        finally:
            if container is not None:
                try:
                    container.remove(force=True)
                except Exception:
                    pass


def _wait(container: Any, reader: _Reader, wall_seconds: float, sample: cgroups.Sample) -> Termination:
    # The engine removes a container's cgroup as it exits, so its facts are sampled
    # while it runs, often enough to catch a short fork bomb hitting the pids limit.
    deadline = time.monotonic() + wall_seconds
    stop = threading.Event()

    def sampler() -> None:
        while not stop.wait(0.01):
            sample.update()

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        while True:
            if reader.over.is_set():
                container.kill()
                return Termination.OUTPUT_LIMIT
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                container.kill()
                return Termination.TIMEOUT
            try:
                container.wait(timeout=min(remaining, 0.25))
                return Termination.OUTPUT_LIMIT if reader.over.is_set() else Termination.OK
            except Exception:  # requests' ReadTimeout / ConnectionError: still running
                continue
    finally:
        stop.set()
        thread.join()


def _classify(state: dict[str, Any], sample: cgroups.Sample, current: Termination) -> Termination:
    if state.get("OOMKilled") or sample.oom_kills > 0:
        return Termination.MEMORY
    code = int(state.get("ExitCode", 0))
    if code == 128 + 24:
        return Termination.TIMEOUT  # SIGXCPU: the CPU-seconds limit
    if sample.pids_hits > 0 and code != 0:
        return Termination.PIDS
    return current


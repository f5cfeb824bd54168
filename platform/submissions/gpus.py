"""GPU devices for the gpu queue: which ones this worker has, and one claim per job.

A worker's devices come from SKILLFORGE_GPUS: a comma-separated list of device ids
("0,1"), "auto" (the default: `nvidia-smi -L`, none where it is missing) or "" (none).
A worker without devices does not consume the gpu queue at all (celery.py), so a GPU
job waits in the queue, visibly, until a GPU worker takes it or the reconciler's
deadline ends it with a reason.

A job claims exactly one device for its duration: a GpuClaim row, unique per device,
created in a transaction after deleting expired ones. The holder renews it while the job
runs (a heartbeat thread); a worker that crashes stops renewing, and the claim expires
after SKILLFORGE_GPU_CLAIM_TTL seconds, so the device is free again without anyone
cleaning up. Device ids prefixed "fake:" are claimed like real ones but not passed into
the sandbox: the tests use them where no GPU exists.

A worker that consumes the gpu queue also says it is alive: a GpuWorker row (host:pid,
its device count) that a thread of the worker process renews every TTL / 3 seconds
(worker_heartbeat, started by celery.py) and deletes on a warm shutdown; a killed worker's
row simply expires. A lab with `gpu = "optional"` reads it when a learner submits
(route): the attempt goes to the gpu queue while some GPU worker is alive, else to cpu,
and the attempt keeps that queue (Attempt.queue) for its worker, requeues and metrics.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Attempt, GpuClaim, GpuWorker

log = logging.getLogger("skillforge.gpus")
FAKE = "fake:"


@cache
def devices() -> tuple[str, ...]:
    """This worker's GPU device ids (see the module docstring)."""
    value = settings.SKILLFORGE_GPUS.strip()
    if value != "auto":
        return tuple(d.strip() for d in value.split(",") if d.strip())
    if not shutil.which("nvidia-smi"):
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5d6c...)" -> the UUID, stable across reboots
    return tuple(m.group(2) or m.group(1) for m in re.finditer(r"^GPU (\d+):.*?(?:\(UUID: (\S+)\))?$", out, re.M))


def passthrough(device: str) -> tuple[str, ...]:
    """What the sandbox gets for a claimed device: nothing for a fake one."""
    return () if device.startswith(FAKE) else (device,)


def holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _key(device: str) -> str:
    return f"{socket.gethostname()}:{device}"


def try_claim(attempt_id: int | None, candidates: tuple[str, ...] | None = None) -> str | None:
    """Claim a free device of this worker's, or None when all are held."""
    ttl = timedelta(seconds=settings.SKILLFORGE_GPU_CLAIM_TTL)
    for device in candidates if candidates is not None else devices():
        key = _key(device)
        now = timezone.now()
        try:
            with transaction.atomic():
                GpuClaim.objects.filter(device=key, expires_at__lt=now).delete()  # a dead holder's
                GpuClaim.objects.create(device=key, holder=holder(), attempt_id=attempt_id, claimed_at=now,
                                        expires_at=now + ttl)
        except IntegrityError:
            if GpuClaim.objects.filter(device=key).exists():
                continue  # held by a live job
            raise  # something else (the attempt is gone?): not a busy device
        log.info("attempt %s: claimed GPU %s", attempt_id, device)
        return device
    return None


def release(device: str) -> None:
    GpuClaim.objects.filter(device=_key(device), holder=holder()).delete()


def renew(device: str) -> bool:
    ttl = timedelta(seconds=settings.SKILLFORGE_GPU_CLAIM_TTL)
    return bool(GpuClaim.objects.filter(device=_key(device), holder=holder()).update(
        expires_at=timezone.now() + ttl))


@contextmanager
def held(device: str) -> Iterator[None]:
    """Keep the claim alive while the job runs; release it after, whatever happens."""
    stop = threading.Event()

    def heartbeat() -> None:
        from django.db import connection

        try:
            while not stop.wait(settings.SKILLFORGE_GPU_CLAIM_TTL / 3):
                if not renew(device):
                    log.warning("GPU %s: the claim was lost while the job ran", device)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=heartbeat, name=f"gpu-claim-{device}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        release(device)


# --- GPU workers' liveness, for labs with gpu = "optional" ------------------------------


def beat(count: int | None = None) -> None:
    """This worker process is alive with `count` devices (default: devices()) for one TTL more."""
    now = timezone.now()
    GpuWorker.objects.update_or_create(name=holder(), defaults={
        "devices": len(devices()) if count is None else count, "seen_at": now,
        "expires_at": now + timedelta(seconds=settings.SKILLFORGE_GPU_CLAIM_TTL)})
    GpuWorker.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()  # killed workers' rows, long dead


def gpu_worker_alive() -> bool:
    """Some worker with at least one device renewed its heartbeat within its TTL (one query over a row per GPU worker)."""
    return GpuWorker.objects.filter(expires_at__gt=timezone.now(), devices__gt=0).exists()


def route(lab_queue: str, *, optional: bool) -> str:
    """The queue a new attempt goes to: its lab's, except that an optional-GPU lab takes the gpu
    queue only while a GPU worker is alive (else it would wait there for nobody)."""
    if not optional:
        return lab_queue
    return "gpu" if gpu_worker_alive() else "cpu"


def requeue_route(attempt: Attempt) -> str:
    """The queue a stuck attempt is sent to again: its own, unless it is an optional-GPU lab's
    attempt on the gpu queue and no GPU worker is alive any more: then cpu, which can grade it."""
    if attempt.queue != "gpu" or gpu_worker_alive():
        return attempt.queue
    try:
        optional = attempt.submission.lab_version.load_spec().gpu_optional
    except Exception:  # a missing snapshot: keep the queue; grading will say what is wrong
        log.exception("attempt %s: could not read its lab version to re-route it", attempt.pk)
        return attempt.queue
    return "cpu" if optional else attempt.queue


def forget() -> None:
    """This worker process stops serving the gpu queue (a warm shutdown)."""
    GpuWorker.objects.filter(name=holder()).delete()


def worker_heartbeat(stop: threading.Event) -> threading.Thread:
    """Beat now and every TTL / 3 seconds in a daemon thread until `stop` is set, then forget.

    Each beat opens and closes its own connection, so a prefork pool forking beside it never
    inherits an open one."""

    def loop() -> None:
        from django.db import connection

        while True:
            try:
                beat()
            except Exception:  # the database is away for a moment: the next beat tries again
                log.warning("GPU worker heartbeat failed; retrying in %s s", settings.SKILLFORGE_GPU_CLAIM_TTL / 3,
                            exc_info=True)
            finally:
                connection.close()
            if stop.wait(settings.SKILLFORGE_GPU_CLAIM_TTL / 3):
                break
        try:
            forget()
        except Exception:
            log.warning("GPU worker heartbeat: could not remove this worker's row; it expires by itself")
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name="gpu-worker-heartbeat", daemon=True)
    thread.start()
    return thread

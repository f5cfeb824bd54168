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

from .models import GpuClaim

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


def queue_position(attempt_id: int, queue: str) -> int:
    """1 for the next attempt its queue will grade."""
    from .models import Attempt

    attempt = Attempt.objects.get(pk=attempt_id)
    return Attempt.objects.filter(status=Attempt.Status.QUEUED, submission__lab_version__queue=queue,
                                  queued_at__lt=attempt.queued_at).count() + 1

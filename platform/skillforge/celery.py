"""The Celery app: broker and task options come from Django settings (CELERY_*).

Run a worker from the repository root:

    PYTHONPATH=platform:. celery -A skillforge worker -Q cpu,gpu --pool solo

Two queues: `cpu` and `gpu`; a submission goes to its lab version's queue (a lab with
`gpu = "optional"`: to `gpu` while a GPU worker's heartbeat is live, see submissions/gpus.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from celery import Celery
from celery.signals import celeryd_after_setup, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillforge.settings")

app = Celery("skillforge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem transport needs its folders to exist before anyone publishes."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@worker_ready.connect
def _warm_sandboxes(**_: object) -> None:
    """Start the pre-warmed sandbox pool for every published lab (workers run --pool solo,
    so the pool lives in the process that grades)."""
    from django.conf import settings

    from submissions.services import warm_sandboxes

    warm_sandboxes()
    if settings.SKILLFORGE_WORKER_METRICS_PORT:  # this worker's grading metrics, for Prometheus
        from prometheus_client import start_http_server

        from sandbox import docker_backend
        from skillforge.metrics import POOL_READY

        POOL_READY.set_function(docker_backend.POOL.ready_count)
        start_http_server(settings.SKILLFORGE_WORKER_METRICS_PORT)


@celeryd_after_setup.connect
def _gpu_queue_only_with_gpus(sender: str, instance: object, **_: object) -> None:
    """A worker with no GPU (SKILLFORGE_GPUS, see submissions/gpus.py) never takes a GPU job:
    it stops consuming the gpu queue, where such jobs wait for a worker that has one."""
    from submissions import gpus

    queues = instance.app.amqp.queues  # type: ignore[attr-defined]
    if not gpus.devices() and "gpu" in queues.consume_from:
        queues.deselect("gpu")


_gpu_heartbeat_stop = threading.Event()
_gpu_heartbeat: list[threading.Thread] = []


@worker_ready.connect
def _announce_gpu_worker(sender: object, **_: object) -> None:
    """A worker that serves the gpu queue says so every SKILLFORGE_GPU_CLAIM_TTL / 3 seconds
    (a GpuWorker row, submissions/gpus.py), so that labs with gpu = "optional" send their
    attempts to the gpu queue only while someone takes them."""
    from submissions import gpus

    queues = getattr(sender, "app", app).amqp.queues
    if gpus.devices() and "gpu" in queues.consume_from and not _gpu_heartbeat:
        _gpu_heartbeat_stop.clear()
        _gpu_heartbeat.append(gpus.worker_heartbeat(_gpu_heartbeat_stop))


@worker_shutdown.connect
def _retire_gpu_worker(**_: object) -> None:
    """A warm shutdown removes this worker's heartbeat row at once (a killed worker's expires)."""
    if _gpu_heartbeat:
        _gpu_heartbeat_stop.set()
        _gpu_heartbeat.pop().join(timeout=10)

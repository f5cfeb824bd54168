"""The Celery app: broker and task options come from Django settings (CELERY_*).

Run a worker from the repository root:

    PYTHONPATH=platform:. celery -A skillforge worker -Q cpu,gpu --pool solo

Two queues: `cpu` and `gpu`; a submission goes to its lab version's queue.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillforge.settings")

app = Celery("skillforge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem transport needs its folders to exist before anyone publishes."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)

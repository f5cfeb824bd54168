"""The real Celery worker (`./sf worker`: -Q cpu,gpu --pool solo) with bench/_timing.py's
timers installed first: what bench/breakdown.py starts. Extra arguments go to celery."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "platform"), str(REPO), str(Path(__file__).parent)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillforge.settings")
os.environ.setdefault("DB_CONN_MAX_AGE", "300")  # as `./sf worker` sets it

import django  # noqa: E402

django.setup()

import _timing  # noqa: E402

from skillforge.celery import app  # noqa: E402

_timing.install_worker()
app.worker_main(["worker", "-Q", "cpu,gpu", "--pool", "solo", *sys.argv[1:]])

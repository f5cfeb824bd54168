"""A real Celery worker process on Redis, grading against the test database (PostgreSQL).

The worker is `celery -A skillforge worker -Q cpu,gpu --pool solo`, started once per
module with DATABASE_URL pointing at pytest-django's test database, so it sees the rows
the tests commit (tests here use transactional_db) and writes its grades back there.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from workers import start_worker, stop_worker

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _sandbox_name() -> str:
    import sandbox

    for name in ("bubblewrap", "docker"):
        try:
            sandbox.backend(name)
            return name
        except sandbox.SandboxUnavailable:
            continue
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail("no sandbox backend (REQUIRE_DOCKER=1 makes this a failure, not a skip)")
    pytest.skip("no sandbox backend here: bubblewrap as root, or a Docker engine")


def _test_database_url() -> str:
    from django.db import connection

    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture(scope="module")
def worker_env(require_postgres, redis_url, django_db_setup, django_db_blocker,
               tmp_path_factory) -> dict[str, str]:
    """What the worker and this process share: broker, test database, data folder, sandbox."""
    from skillforge.celery import app

    # This process publishes where the worker listens (settings already use REDIS_URL in CI).
    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SKILLFORGE_DATA_DIR": str(tmp_path_factory.mktemp("worker-data")),
        "SKILLFORGE_SANDBOX": _sandbox_name(),
    }


@pytest.fixture(scope="module")
def celery_worker_process(worker_env, tmp_path_factory) -> Iterator[subprocess.Popen]:
    from skillforge.celery import app

    app.control.purge()  # messages left by an earlier run name attempts that do not exist here
    proc = start_worker(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    yield proc
    stop_worker(proc)


@pytest.fixture
def worker(celery_worker_process, worker_env, settings, transactional_db) -> subprocess.Popen:
    settings.SKILLFORGE_DATA_DIR = Path(worker_env["SKILLFORGE_DATA_DIR"])
    settings.SKILLFORGE_SANDBOX = worker_env["SKILLFORGE_SANDBOX"]
    return celery_worker_process

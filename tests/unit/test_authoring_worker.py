"""Validation and re-grading as background work on a real Celery worker (Redis, PostgreSQL,
a real sandbox), driven through the instructor's pages: press Validate, watch the run turn
green, publish, learners are graded, fix a check, re-grade and watch the progress bar end."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from workers import start_worker, stop_worker  # noqa: E402

from accounts.services import create_account  # noqa: E402
from authoring.models import LabDraft, RegradeJob, ValidationRun  # noqa: E402
from catalog.models import Lab  # noqa: E402
from submissions.models import Submission  # noqa: E402

pytestmark = [pytest.mark.services, pytest.mark.slow]
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def worker_env(require_postgres, redis_url, django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    import os
    from urllib.parse import urlparse, urlunparse

    from django.db import connection

    import sandbox
    from skillforge.celery import app

    name = next((n for n in ("bubblewrap", "docker") if _works(sandbox, n)), None)
    if name is None:
        pytest.skip("no sandbox backend here")
    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    with django_db_blocker.unblock():
        url = urlparse(os.environ["DATABASE_URL"])
        database_url = urlunparse(url._replace(path="/" + connection.settings_dict["NAME"]))
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "CELERY_BROKER_URL": redis_url,
            "SKILLFORGE_DATA_DIR": str(tmp_path_factory.mktemp("authoring-worker-data")),
            "SKILLFORGE_KEY_DIR": str(tmp_path_factory.mktemp("authoring-worker-keys")), "SKILLFORGE_SANDBOX": name}


def _works(sandbox, name: str) -> bool:
    try:
        sandbox.backend(name)
        return True
    except sandbox.SandboxUnavailable:
        return False


@pytest.fixture(scope="module")
def celery_worker(worker_env, tmp_path_factory) -> Iterator:
    from skillforge.celery import app

    app.control.purge()
    proc = start_worker(worker_env, tmp_path_factory.mktemp("authoring-worker") / "worker.log", name="authoring")
    yield proc
    stop_worker(proc)


@pytest.fixture
def worker(celery_worker, worker_env, settings, transactional_db):
    settings.SKILLFORGE_DATA_DIR = Path(worker_env["SKILLFORGE_DATA_DIR"])
    settings.SKILLFORGE_KEY_DIR = Path(worker_env["SKILLFORGE_KEY_DIR"])
    settings.SKILLFORGE_SANDBOX = worker_env["SKILLFORGE_SANDBOX"]
    return celery_worker


def wait_for(fetch, done, worker, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = fetch()
        if done(obj):
            return obj
        time.sleep(0.25)
    pytest.fail(f"{what} did not finish in {timeout} s ({obj!r}); worker log:\n{worker.log_path.read_text()[-4000:]}")


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def validate_and_publish(web: Client, draft: LabDraft, worker) -> None:
    web.post(f"/instructor/drafts/{draft.pk}/validate/")
    run = wait_for(lambda: ValidationRun.objects.filter(draft=draft).first(), lambda r: r.is_done, worker, "validation")
    assert run.status == "passed", (run.facts, run.message)
    assert f"validation {run.pk} of {draft.slug}: passed" in worker.log_path.read_text()
    assert web.post(f"/instructor/drafts/{draft.pk}/publish/").status_code == 302


def test_validation_and_regrade_run_on_the_worker(worker):
    create_account(username="alan", password=PASSWORD, role="instructor")
    ada = create_account(username="ada", password=PASSWORD, role="learner")
    web = login("alan")
    web.post("/instructor/new/", {"slug": "worker-quiz", "title": "Worker quiz"})
    draft = LabDraft.objects.get(slug="worker-quiz")
    validate_and_publish(web, draft, worker)
    lab = Lab.objects.get(slug="worker-quiz")
    v1 = lab.current_version

    learner = login("ada")
    learner.post("/labs/worker-quiz/submit/", {"file_0": "print(42)\n"})
    submission = Submission.objects.get(learner=ada)
    wait_for(lambda: submission.latest_attempt, lambda a: a.is_terminal, worker, "grading")
    assert submission.latest_attempt.passed is True

    checks = draft.lab_dir / "checks" / "checks.toml"  # the fix: at most 2 bytes of output
    checks.write_text(checks.read_text().replace("threshold = 100", "threshold = 2"))
    solution = draft.lab_dir / "solution" / "main.py"
    solution.write_text('import sys\nsys.stdout.write("42")\n')
    validate_and_publish(web, draft, worker)
    lab.refresh_from_db()
    assert lab.current_version != v1

    web.post("/instructor/labs/worker-quiz/regrade/", {"target": lab.current_version.content_hash,
                                                       "selection": "all", "latest_only": "on"})
    job = wait_for(lambda: RegradeJob.objects.get(), lambda j: j.is_done, worker, "re-grade")
    assert (job.status, job.done, job.total) == ("finished", 1, 1)
    shown = web.get(f"/instructor/regrades/{job.pk}/").content.decode()
    assert "<strong>1</strong> pass → fail" in shown and "<code>brevity</code> pass → fail" in shown
    submission.refresh_from_db()
    assert submission.lab_version == v1 and submission.latest_attempt.passed is True

"""End to end through a real Celery worker: submit through the API, poll GET until graded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.test import Client

from accounts.services import create_account, issue_token
from catalog.services import import_labs
from graders.report import validate

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUBMISSIONS = FIXTURES / "submissions"

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture
def ada_api(worker) -> Client:
    import_labs(path=FIXTURES / "labs")
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
    _, raw = issue_token(user=ada, name="integration")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def submit(client: Client, example: str) -> str:
    text = (SUBMISSIONS / example / "main.py").read_text()
    response = client.post("/api/labs/tiny-answer/submissions", data={"files": {"main.py": text}},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def wait_until_done(client: Client, submission_id: str, worker, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        body = client.get(f"/api/submissions/{submission_id}").json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in ("graded", "error"):
            body["seen"] = seen
            return body
        time.sleep(0.25)
    pytest.fail(f"not graded within {timeout} s (statuses {seen}); worker log:\n"
                f"{worker.log_path.read_text()[-4000:]}")


def test_a_submission_is_graded_by_the_worker(ada_api, worker):
    submission_id = submit(ada_api, "correct")
    body = wait_until_done(ada_api, submission_id, worker)
    assert body["status"] == "graded", body
    assert body["seen"][0] in ("queued", "running")
    attempt = body["attempt"]
    report = attempt["report"]
    validate(report)
    assert report["score"] == 1.0 and report["passed"] is True
    assert attempt["score"] == 1.0 and attempt["passed"] is True and attempt["digest"] == report["digest"]
    assert attempt["queued_at"] <= attempt["started_at"] <= attempt["finished_at"]
    assert [c["status"] for c in report["checks"]] == ["pass", "pass"]
    assert f"attempt {attempt['id']}: graded" in worker.log_path.read_text()


def test_a_submission_that_never_ends_is_graded_with_the_time_limit_message(ada_api, worker):
    body = wait_until_done(ada_api, submit(ada_api, "forever"), worker)
    assert body["status"] == "graded", body
    report = body["attempt"]["report"]
    assert report["passed"] is False
    assert "ran past the time limit" in report["summary"]


def test_a_submission_that_fails_at_import_is_graded_with_its_exit_status_and_log(ada_api, worker):
    body = wait_until_done(ada_api, submit(ada_api, "import_error"), worker)
    assert body["status"] == "graded", body
    report = body["attempt"]["report"]
    assert report["passed"] is False
    assert "Your program exited with status 1" in report["summary"]
    assert "ModuleNotFoundError: No module named 'module_that_does_not_exist'" in report["run"]["learner_log"]


def test_a_submission_that_prints_100_mb_is_graded_with_the_output_message(ada_api, worker):
    body = wait_until_done(ada_api, submit(ada_api, "flood"), worker)
    assert body["status"] == "graded", body
    report = body["attempt"]["report"]
    assert report["passed"] is False
    assert "printed more than" in report["summary"]
    assert report["run"]["wall_seconds"] < 5


def test_a_rejected_submission_never_reaches_the_worker(ada_api, worker):
    response = ada_api.post("/api/labs/tiny-answer/submissions", data={"files": {"../x.py": "x"}},
                            content_type="application/json")
    assert response.status_code == 400
    body = ada_api.get(f"/api/submissions/{response.json()['id']}").json()
    assert body["status"] == "rejected" and body["attempt"] is None

"""The learner's dashboard: a progress bar per lab and overall, next steps, credentials earned."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_data_dir,
    fixture_tiny_lab,
)

from learning import services
from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada_web(ada) -> Client:
    client = Client()
    assert client.login(username="ada", password=PASSWORD)
    return client


def graded(learner, lab, score: float, passed: bool, failing=("answer",)) -> Attempt:
    submission = Submission.objects.create(learner=learner, lab_version=lab.current_version, source="editor",
                                           status="accepted", content_hash="sha256:" + "1" * 64)
    now = timezone.now()
    checks = [{"id": c, "name": c.title(), "status": "fail"} for c in failing]
    return Attempt.objects.create(submission=submission, status="graded", started_at=now, finished_at=now, score=score,
                                  passed=passed, digest="sha256:" + "2" * 64, report={"checks": checks})


def test_the_dashboard_needs_a_login(client, tiny_lab):
    assert client.get("/dashboard/").status_code == 302


def test_a_new_learner_sees_every_lab_not_started_and_a_first_step(ada_web, tiny_lab):
    page = ada_web.get("/dashboard/").content.decode()
    assert "0 of 1 labs passed" in page and "not started" in page
    assert f"Start {tiny_lab.title}." in page
    assert '<progress class="meter big" max="100" value="0"' in page


def test_progress_counts_the_best_score_and_names_failing_checks(ada, ada_web, tiny_lab):
    graded(ada, tiny_lab, 0.25, False, failing=("answer", "brevity"))
    graded(ada, tiny_lab, 0.5, False, failing=("answer",))  # the latest graded attempt's failing checks
    progress = services.progress(learner=ada)
    (row,) = progress.labs
    assert row.best_score == 0.5 and row.attempts == 2 and not row.passed and row.state == "in progress"
    assert row.percent == round(100 * 0.5 / tiny_lab.current_version.pass_bar)
    assert row.failing == ["Answer"]
    page = ada_web.get("/dashboard/").content.decode()
    assert "1 check still failing (Answer)" in page and "Keep going" in page


def test_a_passed_lab_fills_its_bar_and_suggests_publishing_the_portfolio(ada, ada_web, tiny_lab):
    graded(ada, tiny_lab, 1.0, True, failing=())
    progress = services.progress(learner=ada)
    assert progress.passed == 1 and progress.percent == 100 and progress.labs[0].percent == 100
    page = ada_web.get("/dashboard/").content.decode()
    assert "1 of 1 labs passed" in page and "Publish your portfolio" in page


def test_a_draft_not_yet_submitted_is_a_next_step(ada, ada_web, tiny_lab):
    services.save_draft(learner=ada, lab=tiny_lab, files={"main.py": "print(1)\n"})
    page = ada_web.get("/dashboard/").content.decode()
    assert "you have a draft you have not submitted" in page and "Continue" in page

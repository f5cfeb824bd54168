"""The reconciler: attempts stuck in queued or running are requeued, then failed with a reason.

Enqueueing is recorded instead of sent here (the broker is exercised by the integration
tests, where a real worker is killed mid-grade and the reconciler brings the attempt home).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from test_site_support import fixture_ada, fixture_data_dir, fixture_tiny_lab  # noqa: F401 - fixtures

from submissions import reconcile as reconciler
from submissions import services
from submissions.models import Attempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[tuple[int, str]]:
    calls: list[tuple[int, str]] = []
    monkeypatch.setattr(reconciler, "enqueue", lambda *, attempt_id, queue: calls.append((attempt_id, queue)))
    return calls


@pytest.fixture
def attempt(ada, tiny_lab, django_capture_on_commit_callbacks, settings) -> Attempt:
    settings.SKILLFORGE_QUEUED_DEADLINE, settings.SKILLFORGE_RUNNING_MARGIN, settings.SKILLFORGE_MAX_REQUEUES = 600, 120, 2
    with django_capture_on_commit_callbacks(execute=False):
        submission = services.submit(learner=ada, lab=tiny_lab,
                                     intake=services.Intake(source="api_files", files={"main.py": "print(42)\n"}))
    return submission.latest_attempt


def test_fresh_attempts_are_left_alone(attempt, sent):
    outcome = reconciler.reconcile(now=attempt.queued_at + timedelta(seconds=599))
    assert (outcome.requeued, outcome.failed, sent) == ([], [], [])


def test_a_lost_queued_attempt_is_requeued_twice_then_fails_with_a_reason(attempt, sent):
    t0 = attempt.queued_at
    assert reconciler.reconcile(now=t0 + timedelta(seconds=601)).requeued == [attempt.pk]
    assert reconciler.reconcile(now=t0 + timedelta(seconds=700)).requeued == []  # waits a deadline per requeue
    assert reconciler.reconcile(now=t0 + timedelta(seconds=1201)).requeued == [attempt.pk]
    assert sent == [(attempt.pk, "cpu"), (attempt.pk, "cpu")]
    outcome = reconciler.reconcile(now=t0 + timedelta(seconds=1801))
    assert outcome.failed == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == "error" and attempt.requeues == 2
    assert "No a grader" not in attempt.message and "No grader picked up your submission within 30 minutes" in attempt.message


def test_a_running_attempt_whose_grader_died_is_requeued_and_its_late_result_ignored(attempt, sent):
    first = services.claim(attempt_id=attempt.pk)
    assert first is not None
    wall = 10  # tiny-answer's wall limit
    assert reconciler.reconcile(now=first + timedelta(seconds=wall + 119)).requeued == []
    assert reconciler.reconcile(now=first + timedelta(seconds=wall + 121)).requeued == [attempt.pk]
    attempt.refresh_from_db()
    assert (attempt.status, attempt.started_at, attempt.requeues) == ("queued", None, 1)
    second = services.claim(attempt_id=attempt.pk)
    assert second is not None
    # the first grader wakes up and tries to store its outcome: not its claim any more
    late = services._finish(attempt.pk, first, status="error", message="late")
    assert late.status == "running" and late.message == ""
    stored = services._finish(attempt.pk, second, status="error", message="on time")
    assert (stored.status, stored.message) == ("error", "on time")


def test_a_grader_that_keeps_dying_ends_in_an_error_with_a_reason(attempt, sent, settings):
    settings.SKILLFORGE_MAX_REQUEUES = 0
    started = services.claim(attempt_id=attempt.pk)
    assert started is not None
    assert reconciler.reconcile(now=started + timedelta(seconds=200)).failed == [attempt.pk]
    attempt.refresh_from_db()
    assert attempt.status == "error" and "interrupted" in attempt.message and attempt.finished_at is not None
    assert sent == []


def test_a_finished_attempt_is_never_touched(attempt, sent):
    started = services.claim(attempt_id=attempt.pk)
    assert started is not None
    services._finish(attempt.pk, started, status="error", message="done")
    outcome = reconciler.reconcile(now=timezone.now() + timedelta(days=1))
    assert (outcome.requeued, outcome.failed) == ([], [])

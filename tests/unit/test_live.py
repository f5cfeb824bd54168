"""The long-poll behind `GET /api/submissions/{id}?wait=` and the live page (submissions/live.py):
a waiting request is woken by the worker's announcement through real Redis, falls back to
reading the row without Redis, gives up at its deadline, and never waits past the
per-process cap on waiters."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.utils import timezone
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    LIVE_TRIGGER,
    fixture_ada,
    fixture_data_dir,
    fixture_tiny_lab,
    token_client,
)

from submissions import live
from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db(transaction=True)  # the finishing thread has its own connection


@pytest.fixture
def with_redis(settings, redis_url):
    settings.REDIS_URL = redis_url
    return redis_url


def _queued(ada, tiny_lab) -> Submission:
    client = token_client(ada)
    body = client.post("/api/labs/tiny-answer/submissions", {"files": {"main.py": "print(42)\n"}},
                       content_type="application/json")
    assert body.status_code == 201, body.content
    return Submission.objects.get(pk=body.json()["id"])


def _finish_later(submission: Submission, delay: float, *, announce: bool = True) -> threading.Thread:
    """Another process's worker, in short: end the attempt on its own connection, then announce."""

    def finish() -> None:
        time.sleep(delay)
        Attempt.objects.filter(submission=submission).update(
            status=Attempt.Status.ERROR, message="finished by the test", finished_at=timezone.now())
        if announce:
            live.announce(submission.id)
        connection.close()

    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_a_waiting_api_request_is_woken_by_the_announcement(ada, tiny_lab, with_redis, monkeypatch):
    monkeypatch.setattr(live, "RECHECK", 20.0)  # only the announcement can wake it before the deadline
    submission = _queued(ada, tiny_lab)
    thread = _finish_later(submission, 0.3)
    started = time.monotonic()
    doc = token_client(ada).get(f"/api/submissions/{submission.id}?wait=15").json()
    thread.join()
    assert doc["status"] == "error" and doc["message"] == "finished by the test"
    assert time.monotonic() - started < 10  # woken, not timed out (15 s) nor rechecked (20 s)


def test_a_missed_announcement_costs_one_recheck(ada, tiny_lab, with_redis, monkeypatch):
    monkeypatch.setattr(live, "RECHECK", 0.2)
    submission = _queued(ada, tiny_lab)
    thread = _finish_later(submission, 0.3, announce=False)  # e.g. the reconciler ended it
    doc = token_client(ada).get(f"/api/submissions/{submission.id}?wait=15").json()
    thread.join()
    assert doc["status"] == "error"


def test_without_redis_the_row_is_read_until_it_changes(ada, tiny_lab, settings):
    settings.REDIS_URL = None
    submission = _queued(ada, tiny_lab)
    thread = _finish_later(submission, 0.3)
    doc = token_client(ada).get(f"/api/submissions/{submission.id}?wait=15").json()
    thread.join()
    assert doc["status"] == "error"


def test_the_wait_ends_at_its_deadline_with_the_current_state(ada, tiny_lab, with_redis):
    submission = _queued(ada, tiny_lab)
    started = time.monotonic()
    doc = token_client(ada).get(f"/api/submissions/{submission.id}?wait=0.5").json()
    assert doc["status"] == "queued" and time.monotonic() - started >= 0.5


@pytest.mark.parametrize("wait", ["0", "-3", "nan", ""])
def test_no_wait_answers_at_once(ada, tiny_lab, with_redis, wait, monkeypatch):
    monkeypatch.setattr(live, "_wait", lambda *a, **k: pytest.fail("should not wait"))
    submission = _queued(ada, tiny_lab)
    response = token_client(ada).get(f"/api/submissions/{submission.id}" + (f"?wait={wait}" if wait else ""))
    assert response.status_code == 200 and response.json()["status"] == "queued"


def test_past_the_cap_on_waiters_the_page_answers_at_once_and_asks_to_poll(ada, tiny_lab, with_redis, settings,
                                                                           monkeypatch):
    settings.SKILLFORGE_LIVE_WAITERS = 1
    monkeypatch.setattr(live, "_slots", None)
    submission = _queued(ada, tiny_lab)
    web = token_client(ada)
    web.force_login(ada)
    slots = live._waiter_slots()
    assert slots.acquire(blocking=False)  # another request is waiting in this process
    try:
        started = time.monotonic()
        partial = web.get(f"/submissions/{submission.id}/status/?wait=1").content.decode()
        assert time.monotonic() - started < 0.9
        assert 'hx-trigger="load delay:1000ms, every 5s"' in partial
    finally:
        slots.release()
    monkeypatch.setattr(live, "_slots", None)
    partial = web.get(f"/submissions/{submission.id}/status/?wait=1").content.decode()  # waited its 2 s
    assert 'hx-trigger="load delay:0ms, every 5s"' in partial


def test_the_live_page_comes_back_when_the_attempt_moves(ada, tiny_lab, with_redis, monkeypatch):
    monkeypatch.setattr(live, "RECHECK", 20.0)
    submission = _queued(ada, tiny_lab)
    web = token_client(ada)
    web.force_login(ada)
    thread = _finish_later(submission, 0.3)
    partial = web.get(f"/submissions/{submission.id}/status/?wait=1").content.decode()
    thread.join()
    assert 'data-status="error"' in partial and "finished by the test" in partial
    assert LIVE_TRIGGER not in partial  # terminal: the page stops asking

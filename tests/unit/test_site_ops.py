"""/metrics and /healthz, and JSON logs, against the real database and broker."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_site_support import fixture_ada, fixture_data_dir, fixture_tiny_lab  # noqa: F401 - fixtures

from skillforge import metrics
from skillforge.ops import JsonFormatter
from submissions import services

pytestmark = pytest.mark.django_db


def families(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200, response.content
    return {f.name: f for f in text_string_to_metric_families(response.content.decode())}


def test_metrics_count_attempts_by_status_and_http_by_view(client, ada, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.submit(learner=ada, lab=tiny_lab, intake=services.Intake(source="api_files",
                                                                           files={"main.py": "print(42)\n"}))
    client.get("/")  # one request to a named view
    found = families(client)
    attempts = {(s.labels["status"], s.labels["queue"]): s.value for s in found["skillforge_attempts"].samples}
    assert attempts == {("queued", "cpu"): 1.0}
    views = {s.labels["view"] for s in found["skillforge_http_request_duration_seconds"].samples if "view" in s.labels}
    assert "home" in views or any(v for v in views if v != "unmatched")
    # labels never carry ids: no long numbers, no UUIDs (bucket bounds "le" are numbers by design)
    for family in found.values():
        for sample in family.samples:
            for key, value in sample.labels.items():
                assert key == "le" or not re.search(r"\d{3,}|[0-9a-f]{8}-[0-9a-f]{4}", value), (family.name, sample)


def test_a_grade_is_recorded_with_lab_backend_and_wait():
    before = metrics.GRADES.labels("tiny-answer", "graded")._value.get()
    metrics.record_grade(lab="tiny-answer", queue="cpu", backend="bubblewrap", outcome="graded", termination="ok",
                         grading_seconds=0.4, waited_seconds=0.2)
    assert metrics.GRADES.labels("tiny-answer", "graded")._value.get() == before + 1


def test_metrics_are_refused_without_the_token_when_one_is_set(client, settings):
    settings.SKILLFORGE_METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_metrics_without_a_token_answer_loopback_only(client, settings):
    settings.SKILLFORGE_METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200


def test_healthz_checks_database_broker_and_sandbox(client, settings):
    body = client.get("/healthz").json()
    assert set(body["checks"]) == {"database", "broker", "sandbox"}
    assert body["checks"]["database"]["ok"] is True
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    from skillforge.celery import app

    old = app.conf.broker_url
    app.conf.broker_url = settings.CELERY_BROKER_URL
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = old
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False and response.json()["status"] == "failing"


def test_json_logs_carry_the_attempt_id():
    record = logging.LogRecord("skillforge.grading", logging.INFO, __file__, 1, "attempt %s: graded", (7,), None)
    record.attempt_id = 7
    doc = json.loads(JsonFormatter().format(record))
    assert doc["attempt_id"] == 7 and doc["message"] == "attempt 7: graded" and doc["level"] == "INFO"

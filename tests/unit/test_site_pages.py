"""The browser pages: submit form, live submission page, my submissions; never unescaped learner text."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    LIVE_TRIGGER,
    PASSWORD,
    fixture_ada,
    fixture_alan,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
    make_zip,
)

from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db


def logged_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


@pytest.fixture
def ada_web(ada) -> Client:
    return logged_in("ada")


def test_submit_needs_a_login(client, tiny_lab):
    response = client.get("/labs/tiny-answer/submit/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_form_has_a_textarea_per_editable_file_prefilled_from_the_starter(ada_web, tiny_lab):
    page = ada_web.get("/labs/tiny-answer/submit/").content.decode()
    assert re.search(r'<textarea name="file_0"[^>]*>\s*print\(0\)\s*</textarea>', page)
    assert "<code>main.py</code>" in page and 'type="file" name="zip"' in page
    assert 'enctype="multipart/form-data"' in page


def test_submitting_from_the_editor_records_files_and_redirects(ada, ada_web, tiny_lab, data_dir,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = ada_web.post("/labs/tiny-answer/submit/", {"file_0": "print(42)\r\nprint('bye')\r\n"})
    submission = Submission.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/submissions/{submission.id}/"
    assert submission.source == "editor" and submission.learner == ada
    assert (submission.files_dir / "main.py").read_text() == "print(42)\nprint('bye')\n"  # CRLF normalised
    assert submission.latest_attempt.status == "queued" and len(callbacks) == 1


def test_a_bad_zip_upload_is_recorded_and_the_form_says_why(ada_web, tiny_lab):
    response = ada_web.post("/labs/tiny-answer/submit/", {
        "file_0": "print(42)\n",
        "zip": SimpleUploadedFile("w.zip", make_zip({"../../etc/cron.d/x": b"x"})),
    })
    assert response.status_code == 200
    submission = Submission.objects.get()
    assert submission.status == "rejected" and submission.source == "upload"
    page = response.content.decode()
    assert "Not accepted:" in page and "points outside the submission folder" in page
    assert f"/submissions/{submission.id}/" in page
    assert "print(42)" in page  # the learner's text is still in the editor


def test_a_good_zip_upload_replaces_the_editor(ada_web, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ada_web.post("/labs/tiny-answer/submit/", {
            "file_0": "print(0)\n", "zip": SimpleUploadedFile("w.zip", make_zip({"main.py": b"print(42)\n"}))})
    submission = Submission.objects.get()
    assert submission.source == "upload" and (submission.files_dir / "main.py").read_text() == "print(42)\n"


# --- the submission page -------------------------------------------------------------------


@pytest.fixture
def queued(ada_web, tiny_lab, django_capture_on_commit_callbacks) -> Submission:
    with django_capture_on_commit_callbacks(execute=False):
        ada_web.post("/labs/tiny-answer/submit/", {"file_0": "print(42)\n"})
    return Submission.objects.get()


HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def grade_by_hand(attempt: Attempt, *, log: str = HOSTILE) -> None:
    """Store a graded outcome as the worker would (the report here carries hostile learner text)."""
    now = timezone.now()
    report = {
        "score": 0.25, "passed": False, "summary": "1 of 2 checks passed; score 0.25 (pass bar 0.80).",
        "digest": "sha256:" + "0" * 64,
        "checks": [
            {"id": "answer", "name": "Prints the answer", "weight": 3.0, "points": 0.0, "status": "fail",
             "message": f"Observed {HOSTILE}, needs exactly yes.", "observed": HOSTILE, "threshold": True,
             "op": "==", "unit": ""},
            {"id": "brevity", "name": "Says little", "weight": 1.0, "points": 1.0, "status": "pass",
             "message": "Observed 3 bytes (needs at most 100 bytes).", "observed": 3, "threshold": 100,
             "op": "<=", "unit": "bytes"},
        ],
        "run": {"backend": "bubblewrap", "termination": "ok", "exit_code": 0, "wall_seconds": 0.1,
                "cpu_seconds": 0.05, "peak_memory_bytes": 1_000_000, "learner_log": log},
    }
    Attempt.objects.filter(pk=attempt.pk).update(status="running", started_at=now)
    Attempt.objects.filter(pk=attempt.pk).update(status="graded", finished_at=now, report=report, score=0.25,
                                                 passed=False, digest=report["digest"], message=report["summary"])


def test_a_queued_submission_polls_its_partial_every_second(ada_web, queued):
    page = ada_web.get(f"/submissions/{queued.id}/").content.decode()
    assert f'hx-get="/submissions/{queued.id}/status/?wait=1"' in page and LIVE_TRIGGER in page
    assert "htmx.min.js" in page
    partial = ada_web.get(f"/submissions/{queued.id}/status/", HTTP_HX_REQUEST="true").content.decode()
    assert "<section id=\"attempt\"" in partial
    assert LIVE_TRIGGER in partial and "<html" not in partial


def test_a_graded_submission_stops_polling_and_shows_each_check(ada_web, queued):
    grade_by_hand(queued.latest_attempt)
    partial = ada_web.get(f"/submissions/{queued.id}/status/").content.decode()
    assert "hx-trigger" not in partial and "hx-get" not in partial
    assert "Prints the answer" in partial and "Says little" in partial
    assert "≤ 100 bytes" in partial and "3 bytes" in partial and "= yes" in partial  # observed vs threshold
    assert "0.25" in partial and "not passed yet" in partial


def test_learner_text_is_always_escaped(ada_web, queued):
    grade_by_hand(queued.latest_attempt)
    page = ada_web.get(f"/submissions/{queued.id}/").content.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert '<pre class="log" tabindex="0">&lt;script&gt;' in page


def test_an_errored_attempt_shows_its_message_and_stops_polling(ada_web, queued):
    now = timezone.now()
    Attempt.objects.filter(pk=queued.latest_attempt.pk).update(status="running", started_at=now)
    Attempt.objects.filter(pk=queued.latest_attempt.pk).update(status="error", finished_at=now,
                                                               message="The sandbox failed <b>badly</b>.")
    partial = ada_web.get(f"/submissions/{queued.id}/status/").content.decode()
    assert "hx-trigger" not in partial and "The sandbox failed &lt;b&gt;badly&lt;/b&gt;." in partial


def test_other_learners_get_404_instructors_can_look(queued, grace, alan):
    assert logged_in("grace").get(f"/submissions/{queued.id}/").status_code == 404
    assert logged_in("grace").get(f"/submissions/{queued.id}/status/").status_code == 404
    assert logged_in("alan").get(f"/submissions/{queued.id}/").status_code == 404  # not his lab
    queued.lab_version.lab.__class__.objects.filter(pk=queued.lab_version.lab_id).update(owner=alan)
    page = logged_in("alan").get(f"/submissions/{queued.id}/").content.decode()
    assert "Learner ada" in page


def test_my_submissions_lists_mine_only(ada_web, queued, grace):
    page = ada_web.get("/submissions/").content.decode()
    assert f"/submissions/{queued.id}/" in page and "queued" in page
    assert f"/submissions/{queued.id}/" not in logged_in("grace").get("/submissions/").content.decode()
    assert f"/submissions/{queued.id}/" in ada_web.get("/submissions/?lab=tiny-answer").content.decode()
    assert f"/submissions/{queued.id}/" not in ada_web.get("/submissions/?lab=other").content.decode()

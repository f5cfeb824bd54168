"""The editor page: drafts saved on the server (autosave and the no-JavaScript button), restored
on the next visit, discarded on request; the live status's queue position, elapsed time, diff
with the previous attempt and attempt history; the editor bundle and its licences."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    LIVE_TRIGGER,
    PASSWORD,
    fixture_ada,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
)

from learning.models import Draft
from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db
STATIC = Path(__file__).resolve().parents[2] / "platform" / "skillforge" / "static" / "skillforge"


@pytest.fixture
def ada_web(ada) -> Client:
    client = Client()
    assert client.login(username="ada", password=PASSWORD)
    return client


def test_the_editor_page_marks_each_file_for_the_editor_and_autosave(ada_web, tiny_lab):
    page = ada_web.get("/labs/tiny-answer/submit/").content.decode()
    assert 'class="code"' in page and 'data-filename="main.py"' in page
    assert 'data-autosave-url="/labs/tiny-answer/draft/"' in page and "data-autosave-status" in page
    assert 'data-editor-file="main.py"' in page and "data-keyboard-submit" in page
    assert 'name="action" value="draft"' in page  # "Save draft" works without JavaScript
    assert "site.js" in page and 'data-editor="/static/skillforge/editor.js"' in page
    assert "The brief" in page


def test_autosave_keeps_the_draft_per_learner_and_lab_and_the_editor_restores_it(ada_web, ada, grace, tiny_lab):
    response = ada_web.post("/labs/tiny-answer/draft/", {"file_0": "print(41)\r\n"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["files"] == ["main.py"]
    draft = Draft.objects.get(learner=ada, lab=tiny_lab)
    assert draft.files == {"main.py": "print(41)\n"} and draft.size == 10
    page = ada_web.get("/labs/tiny-answer/submit/").content.decode()
    assert "print(41)" in page and "Your draft from" in page
    other = Client()
    other.login(username="grace", password=PASSWORD)
    assert "print(41)" not in other.get("/labs/tiny-answer/submit/").content.decode()  # grace sees the starter


def test_a_draft_only_holds_the_labs_editable_files_within_its_limits(ada_web, tiny_lab):
    too_big = "x" * (tiny_lab.current_version.load_spec().submission.max_file_bytes + 1)
    response = ada_web.post("/labs/tiny-answer/draft/", {"file_0": too_big}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "bytes" in response.json()["error"]
    assert not Draft.objects.exists()
    assert Client().post("/labs/tiny-answer/draft/", {"file_0": "x"}).status_code == 302  # login first
    assert ada_web.post("/labs/no-such-lab/draft/", {"file_0": "x"}).status_code == 404


def test_without_javascript_save_draft_and_reset_are_buttons(ada_web, ada, tiny_lab):
    response = ada_web.post("/labs/tiny-answer/submit/", {"file_0": "print(40)\n", "action": "draft"}, follow=True)
    assert response.redirect_chain[-1][0] == "/labs/tiny-answer/submit/" and b"Draft saved." in response.content
    assert b"print(40)" in response.content and not Submission.objects.exists()
    response = ada_web.post("/labs/tiny-answer/submit/", {"action": "reset"}, follow=True)
    assert not Draft.objects.exists() and b"print(0)" in response.content


def test_submitting_keeps_what_was_typed_as_the_draft(ada_web, ada, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ada_web.post("/labs/tiny-answer/submit/", {"file_0": "print(42)\n"})
    assert Submission.objects.count() == 1
    assert Draft.objects.get(learner=ada).files == {"main.py": "print(42)\n"}


# --- the live status -------------------------------------------------------------------------


def _submit(client, text, django_capture_on_commit_callbacks) -> Submission:
    with django_capture_on_commit_callbacks(execute=False):
        client.post("/labs/tiny-answer/submit/", {"file_0": text})
    return Submission.objects.first()


def _grade(attempt: Attempt, statuses: dict[str, str], score: float, passed: bool) -> None:
    now = timezone.now()
    checks = [{"id": cid, "name": cid.title(), "weight": 1.0, "points": 1.0 if st == "pass" else 0.0, "status": st,
               "message": "", "observed": None, "threshold": None, "op": None, "unit": ""} for cid, st in statuses.items()]
    report = {"score": score, "passed": passed, "summary": "s", "checks": checks,
              "run": {"backend": "bubblewrap", "termination": "ok", "wall_seconds": 0.1, "learner_log": ""}}
    Attempt.objects.filter(pk=attempt.pk).update(status="running", started_at=now)
    Attempt.objects.filter(pk=attempt.pk).update(status="graded", finished_at=now, report=report, score=score,
                                                 passed=passed, digest="sha256:" + "0" * 64, message="s")


def test_a_queued_attempt_shows_its_place_in_the_queue(ada_web, grace, tiny_lab, django_capture_on_commit_callbacks):
    other = Client()
    other.login(username="grace", password=PASSWORD)
    _submit(other, "print(1)\n", django_capture_on_commit_callbacks)  # grace is ahead in the queue
    mine = _submit(ada_web, "print(2)\n", django_capture_on_commit_callbacks)
    partial = ada_web.get(f"/submissions/{mine.id}/status/").content.decode()
    assert "data-queue-position>2<" in partial and "CPU queue" in partial


def test_a_running_attempt_shows_elapsed_time_against_its_wall_limit(ada_web, tiny_lab, django_capture_on_commit_callbacks):
    submission = _submit(ada_web, "print(2)\n", django_capture_on_commit_callbacks)
    Attempt.objects.filter(submission=submission).update(status="running",
                                                         started_at=timezone.now() - timedelta(seconds=3))
    partial = ada_web.get(f"/submissions/{submission.id}/status/").content.decode()
    limit = tiny_lab.current_version.load_spec().limits.wall_seconds
    assert "data-elapsed>3 s<" in partial and f"of the {limit:.0f} s limit" in partial and "<progress" in partial
    assert LIVE_TRIGGER in partial


def test_the_second_attempt_says_what_changed_and_lists_the_history(ada_web, tiny_lab, django_capture_on_commit_callbacks):
    first = _submit(ada_web, "print(1)\n", django_capture_on_commit_callbacks)
    _grade(first.latest_attempt, {"answer": "fail", "brevity": "pass", "style": "fail"}, 0.25, False)
    second = _submit(ada_web, "print(42)\n", django_capture_on_commit_callbacks)
    _grade(second.latest_attempt, {"answer": "pass", "brevity": "pass", "style": "pass"}, 1.0, True)
    Submission.objects.filter(pk=second.pk).update(created_at=first.created_at + timedelta(seconds=5))
    partial = ada_web.get(f"/submissions/{second.id}/status/").content.decode()
    assert "2 more checks pass; score +0.75" in partial
    assert "Now passes: Answer" in partial and "Now passes: Style" in partial
    assert partial.count("<tr") == 3 and "(this one)" in partial and f"/submissions/{first.id}/" in partial
    assert 'class="check check-pass"' in partial and "<details" in partial
    # A passed attempt keeps polling a moment for its credential, then stops.
    assert LIVE_TRIGGER in partial and "signing your credential" in partial
    Attempt.objects.filter(submission=second).update(finished_at=timezone.now() - timedelta(minutes=5))
    assert "hx-trigger" not in ada_web.get(f"/submissions/{second.id}/status/").content.decode()
    older = ada_web.get(f"/submissions/{first.id}/status/").content.decode()
    assert "more check" not in older  # the first attempt has nothing to compare with


def test_the_editor_bundle_and_its_licences_are_shipped():
    bundle = (STATIC / "editor.js").read_text()
    assert bundle.startswith("/* SkillForge editor: CodeMirror 6")
    licences = (STATIC / "editor.LICENSES.txt").read_text()
    for package in ("@codemirror/view", "@codemirror/lang-python", "@codemirror/lang-yaml", "@codemirror/lang-markdown",
                    "@codemirror/legacy-modes"):
        assert package in licences
    assert "MIT License" in licences or "Permission is hereby granted" in licences
    frontend = STATIC.parents[1] / "frontend"
    assert (frontend / "package-lock.json").is_file() and (frontend / "build.mjs").is_file()

"""Re-grading a credential's evidence in a fresh sandbox reproduces the pinned report digest."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixtures, requested by name
from test_site_support import (  # noqa: F401
    REPO,
    fixture_ada,
    fixture_data_dir,
    fixture_sandbox_name,
    fixture_tiny_lab,
)

from credentials.regrade import regrade
from submissions import services

pytestmark = pytest.mark.django_db


def grade_for_real(learner, lab, files: dict[str, str], capture):
    with capture(execute=False):
        submission = services.submit(learner=learner, lab=lab, intake=services.Intake(source="api_files", files=files))
    attempt = services.grade_attempt(attempt_id=submission.latest_attempt.pk)
    assert attempt.status == "graded" and attempt.passed, attempt.message
    return attempt.credential


def test_regrade_of_the_tiny_lab_matches_and_notices_a_changed_submission(ada, tiny_lab, key_dir, sandbox_name,
                                                                         django_capture_on_commit_callbacks):
    credential = grade_for_real(ada, tiny_lab, {"main.py": "print(42)\n"}, django_capture_on_commit_callbacks)
    document = json.loads(credential.document)
    outcome = regrade(document)
    assert outcome.status == "pass", outcome.message
    assert outcome.new_digest == credential.report_digest
    assert "fresh" in outcome.message and sandbox_name in outcome.message

    (credential.attempt.submission.files_dir / "main.py").write_text("print(41)\n")
    changed = regrade(document)
    assert (changed.status, changed.code) == ("fail", "submission_missing")


def test_regrade_from_the_command_and_the_verify_page(ada, tiny_lab, key_dir, sandbox_name, tmp_path, client,
                                                      django_capture_on_commit_callbacks):
    credential = grade_for_real(ada, tiny_lab, {"main.py": "print(42)\n"}, django_capture_on_commit_callbacks)
    path = tmp_path / "credential.json"
    path.write_text(credential.document)
    out = StringIO()
    call_command("verify_credential", str(path), "--regrade", stdout=out)
    assert "ok    Re-grade: Re-graded in a fresh" in out.getvalue() and "VERIFIED" in out.getvalue()
    page = client.post("/verify/", {"credential_id": str(credential.id), "action": "regrade"})
    assert page.status_code == 200 and b"the new report&#x27;s bytes match the pinned digest" in page.content


def test_a_credential_from_elsewhere_is_not_regraded(key_dir):
    outcome = regrade({"id": "urn:uuid:00000000-0000-0000-0000-000000000000"})
    assert (outcome.status, outcome.code) == ("skip", "not_ours")


@pytest.mark.slow
def test_regrade_reproduces_the_digest_for_the_async_lab(ada, data_dir, key_dir, sandbox_name,
                                                         django_capture_on_commit_callbacks):
    from catalog.models import Lab
    from catalog.services import import_labs

    import_labs(path=REPO / "labs" / "async-python")
    lab = Lab.objects.select_related("current_version").get(slug="async-python")
    solution = REPO / "labs" / "async-python" / "solution"
    files = {p.relative_to(solution).as_posix(): p.read_text() for p in solution.rglob("*") if p.is_file()
             and "__pycache__" not in p.parts}
    credential = grade_for_real(ada, lab, files, django_capture_on_commit_callbacks)
    outcome = regrade(json.loads(credential.document))
    assert outcome.status == "pass", outcome.message
    assert outcome.new_digest == credential.report_digest == credential.attempt.digest

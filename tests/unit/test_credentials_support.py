"""Shared fixtures for the credential and portfolio tests (imported by name, like test_site_support).

`passed_attempt` makes a graded, passed attempt without a sandbox: the submission goes
through the real intake, and its report is a real GradeReport built for exactly that lab
version and submission, stored the way grade_attempt stores it.
"""

from __future__ import annotations

import json

import pytest

KEY_DIR_NAME = "keys"


@pytest.fixture(name="key_dir")
def fixture_key_dir(tmp_path, settings):
    settings.SKILLFORGE_KEY_DIR = tmp_path / KEY_DIR_NAME
    settings.SKILLFORGE_PUBLIC_URL = "https://skillforge.test"
    settings.SKILLFORGE_CREDENTIAL_VALID_DAYS = 0
    return settings.SKILLFORGE_KEY_DIR


def make_report(submission, *, score: float = 1.0):
    from graders import CheckResult, GradeReport, RunFacts

    version = submission.lab_version
    return GradeReport(
        lab_slug=version.lab.slug, lab_version=version.version, lab_content_hash=version.content_hash,
        submission_hash=submission.content_hash, pass_bar=version.pass_bar, score=score,
        passed=score >= version.pass_bar, summary=f"Scored {score:g}.",
        checks=(CheckResult(id="answer", name="Prints 42", weight=1.0, points=score, status="pass" if score else "fail",
                            message="It printed 42." if score else "It did not print 42.", observed=42, threshold=42,
                            op="=="),),
        run=RunFacts(backend="bubblewrap", image_digest="sha256:" + "0" * 64, termination="ok", exit_code=0,
                     wall_seconds=0.1, cpu_seconds=0.05, peak_memory_bytes=1 << 20, learner_log="42\n"),
    )


def graded_attempt(learner, lab, *, score: float = 1.0, files: dict[str, str] | None = None):
    """A submission through the real intake, graded with a real (sandbox-free) report, stored like grade_attempt."""
    from django.utils import timezone

    from submissions import services
    from submissions.models import Attempt

    submission = services.submit(learner=learner, lab=lab, intake=services.Intake(
        source="api_files", files=files or {"main.py": "print(42)\n"}))
    attempt = submission.latest_attempt
    report = make_report(submission, score=score)
    Attempt.objects.filter(pk=attempt.pk).update(
        status="graded", started_at=timezone.now(), finished_at=timezone.now(), message=report.summary,
        report=report.to_dict(), score=report.score, passed=report.passed, digest=report.digest)
    attempt.refresh_from_db()
    return attempt


@pytest.fixture(name="issued")
def fixture_issued(ada, tiny_lab, key_dir, django_capture_on_commit_callbacks):
    """A credential issued to ada for the tiny lab."""
    from credentials.services import issue_for_attempt

    with django_capture_on_commit_callbacks(execute=False):
        attempt = graded_attempt(ada, tiny_lab)
    return issue_for_attempt(attempt=attempt)


def doc_of(credential) -> dict:
    return json.loads(credential.document)


def dumps(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()

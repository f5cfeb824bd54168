"""Grading an attempt (claim, store, errors), and the grade / labcheck commands, in real sandboxes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    REPO,
    SUBMISSIONS,
    TINY_LAB,
    TINY_LABS,
    TINY_WRONG,
    fixture_ada,
    fixture_data_dir,
    fixture_labs_copy,
    fixture_sandbox_name,
    fixture_tiny_lab,
    make_zip,
)

from graders.report import validate
from submissions import services
from submissions.models import Attempt, Submission

pytestmark = pytest.mark.django_db


def submit_files(learner, lab, files: dict[str, str]) -> Submission:
    return services.submit(learner=learner, lab=lab, intake=services.Intake(source="api_files", files=files))


# --- the claim -----------------------------------------------------------------------------


def test_only_one_claim_wins(ada, tiny_lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    claimed = services.claim(attempt_id=attempt.pk)
    assert claimed is not None
    assert services.claim(attempt_id=attempt.pk) is None
    attempt.refresh_from_db()
    assert attempt.status == "running" and attempt.started_at == claimed


def test_a_second_delivery_of_the_same_attempt_does_nothing(ada, tiny_lab, sandbox_name,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    first = services.grade_attempt(attempt_id=attempt.pk)
    assert first is not None and first.status == "graded"
    assert services.grade_attempt(attempt_id=attempt.pk) is None  # duplicate delivery
    again = Attempt.objects.get(pk=attempt.pk)
    assert (again.status, again.finished_at, again.digest) == ("graded", first.finished_at, first.digest)
    assert Attempt.objects.count() == 1


def test_the_task_runs_the_same_use_case(ada, tiny_lab, sandbox_name, django_capture_on_commit_callbacks):
    from submissions.tasks import grade_attempt

    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    grade_attempt.run(attempt.pk)
    grade_attempt.run(attempt.pk)
    attempt.refresh_from_db()
    assert attempt.status == "graded" and attempt.passed is True


def test_one_attempt_in_flight_per_submission_is_a_database_rule(ada, tiny_lab, django_capture_on_commit_callbacks):
    from django.db import IntegrityError, transaction

    with django_capture_on_commit_callbacks(execute=False):
        submission = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"})
    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.create(submission=submission)


# --- storing the outcome ---------------------------------------------------------------------


def test_a_graded_attempt_stores_report_score_passed_digest_and_timings(ada, tiny_lab, sandbox_name,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(0)\n"}).latest_attempt
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done.status == "graded"
    assert done.score == 0.25 and done.passed is False
    assert done.digest == done.report["digest"] and done.digest.startswith("sha256:")
    assert done.queued_at <= done.started_at <= done.finished_at
    validate(done.report)
    assert done.report["run"]["backend"] == sandbox_name
    assert done.report["lab"]["content_hash"] == tiny_lab.current_version.content_hash
    assert done.report["submission_hash"] == attempt.submission.content_hash
    answer = next(c for c in done.report["checks"] if c["id"] == "answer")
    assert answer["status"] == "fail" and "Print exactly 42." in answer["message"]
    assert done.message == done.report["summary"]


def test_no_sandbox_ends_in_error_with_the_reason(ada, tiny_lab, settings, caplog, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    settings.SKILLFORGE_SANDBOX = "nonexistent"
    settings.SKILLFORGE_MAX_REQUEUES = 0  # no retries left (test_requeue.py: the retries before)
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done.status == "error" and done.message == services.SANDBOX_DOWN  # worded for the learner
    assert "unknown sandbox backend 'nonexistent'" in caplog.text  # the detail, for operators
    assert done.finished_at is not None and done.report is None


def test_a_grader_that_writes_no_observations_is_a_grading_error(ada, data_dir, labs_copy, sandbox_name,
                                                                 django_capture_on_commit_callbacks):
    from catalog.models import Lab
    from catalog.services import import_labs

    (labs_copy / "tiny-answer" / "checks" / "driver" / "driver.py").write_text("print('I forgot to emit')\n")
    import_labs(path=labs_copy)
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, Lab.objects.get(), {"main.py": "print(42)\n"}).latest_attempt
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done.status == "error" and "produced no observations" in done.message


def test_an_unexpected_failure_ends_in_error_with_a_generic_message(ada, tiny_lab, sandbox_name, caplog,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    shutil.rmtree(tiny_lab.current_version.snapshot_dir)  # an operator deleted the published lab
    from catalog.snapshots import _load

    _load.cache_clear()
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done.status == "error" and done.message == services.UNEXPECTED
    assert "unexpected failure while grading" in caplog.text and "snapshot" in caplog.text


def test_an_unreachable_broker_marks_the_attempt_instead_of_losing_it(ada, tiny_lab,
                                                                      django_capture_on_commit_callbacks):
    from skillforge.celery import app

    with django_capture_on_commit_callbacks(execute=False):
        attempt = submit_files(ada, tiny_lab, {"main.py": "print(42)\n"}).latest_attempt
    with app.connection_for_write("redis://127.0.0.1:1/0") as nowhere:  # nothing listens on port 1
        services.enqueue(attempt_id=attempt.pk, queue="cpu", connection=nowhere)
    attempt.refresh_from_db()
    assert attempt.status == "error" and attempt.message == services.QUEUE_DOWN


# --- the grade command ---------------------------------------------------------------------


def grade_command(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("grade", *args, stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)


def test_grade_prints_a_summary_per_check(sandbox_name):
    code, out, _ = grade_command(str(TINY_LAB), str(SUBMISSIONS / "correct"))
    assert code == 0
    assert "tiny-answer (version 1): 2 of 2 checks passed" in out
    assert "PASS   Prints the answer" in out and "PASS   Says little" in out and "PASSED  score 1.00" in out


def test_grade_exits_zero_for_a_failing_submission_and_shows_the_log(sandbox_name):
    code, out, _ = grade_command(str(TINY_LAB), str(SUBMISSIONS / "import_error"))
    assert code == 0
    assert "FAIL   Prints the answer" in out and "exited with status 1" in out
    assert "ModuleNotFoundError" in out and "NOT PASSED" in out


def test_grade_json_prints_a_valid_report(sandbox_name, tmp_path):
    archive = tmp_path / "work.zip"
    archive.write_bytes(make_zip({"main.py": b"print(42)\n"}))
    code, out, _ = grade_command(str(TINY_LAB), str(archive), "--json")
    assert code == 0
    report = json.loads(out)
    validate(report)
    assert report["score"] == 1.0 and report["passed"] is True


def test_grade_by_published_slug(tiny_lab, sandbox_name):
    code, out, _ = grade_command("tiny-answer", str(SUBMISSIONS / "correct"), "--json")
    assert code == 0 and json.loads(out)["lab"]["content_hash"] == tiny_lab.current_version.content_hash


def test_grade_exits_two_on_rejected_input(tmp_path, sandbox_name):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    code, _, err = grade_command(str(TINY_LAB), str(bad))
    assert code == 2 and "Rejected: The upload is not a valid zip file." in err


def test_grade_exits_two_on_an_unknown_lab():
    code, _, err = grade_command("no-such-lab", str(SUBMISSIONS / "correct"))
    assert code == 2 and "no lab 'no-such-lab'" in err


def test_grade_exits_two_when_grading_fails(settings):
    settings.SKILLFORGE_SANDBOX = "nonexistent"
    code, _, err = grade_command(str(TINY_LAB), str(SUBMISSIONS / "correct"))
    assert code == 2 and "Grading failed: unknown sandbox backend" in err


def test_grade_as_a_process_returns_the_exit_codes(sandbox_name, tmp_path):
    env = {**os.environ, "SKILLFORGE_SANDBOX": sandbox_name, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    ok = subprocess.run([sys.executable, "manage.py", "grade", str(TINY_LAB), str(SUBMISSIONS / "forever")],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "ran past the time limit" in ok.stdout
    bad = subprocess.run([sys.executable, "manage.py", "grade", str(TINY_LAB), str(tmp_path / "missing")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "neither a folder nor a zip file" in bad.stderr


# --- labcheck ------------------------------------------------------------------------------


def labcheck(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("labcheck", *args, stdout=out)
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


def test_labcheck_proves_a_good_lab(sandbox_name):
    code, out = labcheck("--labs", str(TINY_LABS), "--wrong", str(TINY_WRONG))
    assert code == 0, out
    assert "ok    tiny-answer: solution scores 1.00" in out
    assert "ok    tiny-answer: starter scores 0.25 (must be below 0.80)" in out
    assert "ok    tiny-answer: wrong_prints_zero scores 0.25" in out
    assert "ok    tiny-answer: two gradings of the solution give identical reports" in out
    assert "all labs check out" in out


def test_labcheck_fails_a_lab_whose_starter_passes(sandbox_name, labs_copy):
    shutil.copy(labs_copy / "tiny-answer" / "solution" / "main.py", labs_copy / "tiny-answer" / "starter" / "main.py")
    code, out = labcheck("--labs", str(labs_copy), "--wrong", str(TINY_WRONG), "tiny-answer")
    assert code == 1
    assert "FAIL  tiny-answer: starter scores 1.00 (must be below 0.80)" in out


def test_labcheck_fails_a_malformed_or_missing_lab(labs_copy):
    (labs_copy / "tiny-answer" / "lab.toml").write_text('slug = "Bad Slug"\n')
    code, out = labcheck("--labs", str(labs_copy), "tiny-answer", "ghost")
    assert code == 1
    assert "FAIL  tiny-answer: lab does not load:" in out and "FAIL  ghost: no lab folder" in out

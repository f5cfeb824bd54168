"""An outage of our sandboxes puts the attempt back in the queue; the learner's own failures do not.

The sandbox is a stand-in runner here (sandbox.backend patched), so each case is exact and
fast: the engine vanishing mid-run is a sandbox_error result, no engine is SandboxUnavailable.
tests/integration/test_faults_sandbox.py stops a real Docker engine under a real worker.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from test_site_support import fixture_ada, fixture_data_dir, fixture_tiny_lab  # noqa: F401 - fixtures

import sandbox
from sandbox import RunResult, RunSpec, Termination
from submissions import reconcile as reconciler
from submissions import services, tasks
from submissions.models import Attempt

pytestmark = pytest.mark.django_db

JARGON = ("backend", "docker", "Docker", "bubblewrap", "bwrap", "Sandbox", "engine", "container", "Error")


def result(termination: Termination = Termination.OK, *, answer: bool = True) -> RunResult:
    observations = {"observations": {"answer_correct": answer, "printed_bytes": 3}}
    return RunResult(termination=termination, exit_code=0 if termination is Termination.OK else None, stdout=b"42\n",
                     stderr=b"", files={"observations.json": json.dumps(observations).encode()}, refused={},
                     wall_seconds=0.1, cpu_seconds=0.05, peak_memory_bytes=1 << 20, backend="docker",
                     image_digest="sha256:" + "0" * 64)


LOST = RunResult.failed("docker", "docker failed: ('Connection aborted.', FileNotFoundError(2, 'No such file'))",
                        time.monotonic(), "sha256:" + "0" * 64)


@pytest.fixture
def runs(monkeypatch) -> list[Callable[[], RunResult]]:
    """What the sandbox does, one entry per run (a callable, so it may raise or act first)."""
    script: list[Callable[[], RunResult]] = []

    def runner(spec: RunSpec) -> RunResult:
        return script.pop(0)()

    monkeypatch.setattr(sandbox, "backend", lambda name=None: ("fake", runner))
    return script


@pytest.fixture
def attempt(ada, tiny_lab, settings, django_capture_on_commit_callbacks) -> Attempt:
    settings.SKILLFORGE_MAX_REQUEUES = 2
    with django_capture_on_commit_callbacks(execute=False):
        submission = services.submit(learner=ada, lab=tiny_lab,
                                     intake=services.Intake(source="api_files", files={"main.py": "print(42)\n"}))
    return submission.latest_attempt


def unavailable() -> RunResult:
    raise sandbox.SandboxUnavailable("the docker sandbox backend is not available on this machine")


def grade_expecting_requeue(attempt: Attempt) -> services.Requeued:
    with pytest.raises(services.Requeued) as raised:
        services.grade_attempt(attempt_id=attempt.pk)
    return raised.value


# --- what goes back to the queue -----------------------------------------------------------------


@pytest.mark.parametrize("failure", [unavailable, lambda: LOST], ids=["no-sandbox", "sandbox-lost-mid-run"])
def test_an_outage_of_our_sandboxes_puts_the_attempt_back_in_the_queue(attempt, runs, failure, caplog):
    runs.append(failure)
    requeued = grade_expecting_requeue(attempt)
    assert (requeued.attempt_id, requeued.countdown) == (attempt.pk, services.REQUEUE_BACKOFF[0])
    attempt.refresh_from_db()
    assert (attempt.status, attempt.requeues, attempt.started_at, attempt.finished_at) == ("queued", 1, None, None)
    assert attempt.message == services.RETRYING  # what the page and the API say while it waits
    assert "not available on this machine" in caplog.text or "Connection aborted" in caplog.text  # the detail: logged


def test_the_next_delivery_grades_it_once_the_sandbox_is_back(attempt, runs):
    runs.extend([lambda: LOST, result])
    grade_expecting_requeue(attempt)
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None
    assert (done.status, done.score, done.passed, done.requeues) == ("graded", 1.0, True, 1)
    assert done.message == done.report["summary"]  # the retry note is gone


def test_past_the_retries_it_ends_as_an_error_worded_for_the_learner(attempt, runs):
    runs.extend([unavailable, lambda: LOST, unavailable])
    assert [grade_expecting_requeue(attempt).countdown for _ in range(2)] == list(services.REQUEUE_BACKOFF[:2])
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None
    assert (done.status, done.requeues, done.message) == ("error", 2, services.SANDBOX_DOWN)
    assert done.finished_at is not None and done.report is None
    assert not [word for word in JARGON if word in done.message]
    assert "not your fault" in done.message and "resubmit" in done.message


# --- what does not ---------------------------------------------------------------------------------


@pytest.mark.parametrize("termination", [Termination.TIMEOUT, Termination.MEMORY, Termination.KILLED,
                                         Termination.PIDS, Termination.OUTPUT_LIMIT])
def test_the_learners_own_limits_and_crashes_are_graded_not_retried(attempt, runs, termination):
    runs.append(lambda: result(termination))
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None
    assert (done.status, done.score, done.requeues) == ("graded", 0.0, 0)
    assert "Your program" in done.message


def test_a_wrong_answer_is_graded_not_retried(attempt, runs):
    runs.append(lambda: result(answer=False))
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None and (done.status, done.passed, done.requeues) == ("graded", False, 0)


def test_a_lab_grader_that_fails_is_an_error_not_retried(attempt, runs):
    runs.append(lambda: dataclasses.replace(result(), files={}))  # the driver wrote no observations
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None
    assert (done.status, done.requeues) == ("error", 0) and "produced no observations" in done.message


def test_an_unexpected_failure_is_an_error_not_retried(attempt, runs):
    def broken() -> RunResult:
        raise KeyError("a bug of ours")

    runs.append(broken)
    done = services.grade_attempt(attempt_id=attempt.pk)
    assert done is not None and (done.status, done.message, done.requeues) == ("error", services.UNEXPECTED, 0)


# --- the claim decides who moves it ------------------------------------------------------------------


def test_the_reconciler_moving_the_attempt_first_wins(attempt, runs, monkeypatch):
    """The grader is so slow the reconciler takes it for dead and requeues it; when the sandbox
    then fails, the worker's conditional UPDATE finds its claim gone and leaves it alone: one
    requeue, one delivery (the reconciler's), no retry of this one."""
    sent: list[int] = []
    monkeypatch.setattr(reconciler, "enqueue", lambda *, attempt_id, queue: sent.append(attempt_id))

    def reconciler_then_lost() -> RunResult:
        later = Attempt.objects.get(pk=attempt.pk).started_at + timedelta(seconds=10 + 121)  # wall 10 s + margin
        assert reconciler.reconcile(now=later).requeued == [attempt.pk]
        return LOST

    runs.append(reconciler_then_lost)
    after = services.grade_attempt(attempt_id=attempt.pk)  # no Requeued raised
    assert after is not None and (after.status, after.requeues, after.started_at) == ("queued", 1, None)
    assert after.message == ""  # the reconciler's requeue, not ours
    assert sent == [attempt.pk]


def test_requeue_is_one_conditional_update(attempt):
    claimed = services.claim(attempt_id=attempt.pk)
    assert claimed is not None
    ours = {"status": "running", "started_at": claimed}
    assert not services.requeue(attempt_id=attempt.pk, requeues=1, state=ours)  # requeued meanwhile: not ours
    assert not services.requeue(attempt_id=attempt.pk, requeues=0, state={**ours, "started_at": claimed
                                                                          - timedelta(seconds=1)})
    assert services.requeue(attempt_id=attempt.pk, requeues=0, state=ours, message="note")
    assert not services.requeue(attempt_id=attempt.pk, requeues=0, state=ours)  # a second try finds it moved
    attempt.refresh_from_db()
    assert (attempt.status, attempt.requeues, attempt.message) == ("queued", 1, "note")


# --- the task ------------------------------------------------------------------------------------------


def test_the_task_delivers_a_requeued_attempt_again_after_the_back_off(monkeypatch):
    retries: list[float] = []

    def retry(*, exc: BaseException, countdown: float) -> BaseException:
        retries.append(countdown)
        return RuntimeError("retry sent")

    def grade_attempt(*, attempt_id: int) -> None:
        raise services.Requeued(attempt_id, 15.0)

    monkeypatch.setattr(services, "grade_attempt", grade_attempt)
    monkeypatch.setattr(tasks.grade_attempt, "retry", retry)
    with pytest.raises(RuntimeError, match="retry sent"):
        tasks.grade_attempt.run(7)
    assert retries == [15.0]

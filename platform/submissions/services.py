"""Submitting and grading: the use-cases views, tasks and commands call.

    submit(learner=, lab=, intake=)      -> Submission (accepted + a queued Attempt, or rejected)
    grade_attempt(attempt_id=)           -> what the Celery task runs (claim, grade, store)
    run_grading(lab=, submission_dir=)   -> GradeReport; the one pipeline for workers, `grade`, `labcheck`
"""

from __future__ import annotations

import errno
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

import sandbox
from catalog.models import Lab
from graders import GradeReport, GradingError, LabSpec, SubmissionRejected, accept_files, accept_path, accept_upload, grade
from graders.hashing import tree_hash
from graders.pipeline import SandboxFailed
from graders.report import validate as validate_report

from . import live, signals
from .models import Attempt, Submission

log = logging.getLogger("skillforge.grading")

UNEXPECTED = "Grading failed because of a problem on our side, not in your code. It has been logged; please resubmit."
QUEUE_DOWN = "Your submission is saved, but the grading queue could not be reached. Please resubmit in a minute."


class Upload(Protocol):
    size: int | None

    def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Intake:
    """What arrived, before any check: files by name, or a zip, or a problem reading the request."""

    source: str
    files: Mapping[str, str | bytes] | None = None
    upload: Upload | None = None
    problem: str = ""  # the request itself could not be read; recorded as a rejection


# --- submitting -------------------------------------------------------------------------


def submit(*, learner: Any, lab: Lab, intake: Intake) -> Submission:
    """Record a submission against the lab's current version; queue it for grading if accepted.

    Bad input never raises: it ends as a rejected Submission whose message says what to fix.
    """
    version = lab.current_version
    spec = version.load_spec()
    submission = Submission(id=uuid.uuid4(), learner=learner, lab_version=version, source=intake.source)
    try:
        _store_files(intake, dest=submission.files_dir, spec=spec)
    except SubmissionRejected as exc:
        submission.status, submission.message = Submission.Status.REJECTED, str(exc)
        submission.save()
        log.info("submission %s to %s rejected: %s", submission.id, lab.slug, exc)
        return submission
    except OSError as exc:  # the server could not write the files (a full disk): recorded and said, never a 500
        log.error("submission %s to %s could not be stored: %s", submission.id, lab.slug, exc)
        submission.status, submission.message = Submission.Status.REJECTED, not_stored(exc)
        submission.save()
        return submission
    submission.status, submission.content_hash = Submission.Status.ACCEPTED, tree_hash(submission.files_dir)
    with transaction.atomic():
        submission.save()
        from .gpus import route  # `gpu = "optional"`: the gpu queue only while a GPU worker is alive

        attempt = Attempt.objects.create(submission=submission, queue=route(version.queue, optional=spec.gpu_optional))
        transaction.on_commit(partial(enqueue, attempt_id=attempt.pk, queue=attempt.queue))
    log.info("submission %s to %s accepted as attempt %s", submission.id, lab.slug, attempt.pk)
    return submission


def not_stored(exc: OSError) -> str:
    why = "the server's disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "the server could not write it"
    return f"Your submission could not be stored: {why}. Nothing was graded; please resubmit in a few minutes."


def _store_files(intake: Intake, *, dest: Path, spec: LabSpec) -> None:
    """Check and write the files into dest, all or nothing (staged, then renamed)."""
    limits = spec.submission
    staging = dest.with_name(f".incoming-{dest.name}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        if intake.problem:
            raise SubmissionRejected(intake.problem)
        if intake.upload is not None:
            size = intake.upload.size or 0
            if size > limits.max_upload_bytes:
                raise SubmissionRejected(f"The upload is {size} bytes; the limit is {limits.max_upload_bytes}.")
            name = intake.upload.name or "upload.zip"
            if name.lower().endswith(".ipynb") and spec.notebook is None:
                raise SubmissionRejected("This lab does not take notebooks: submit your files in the editor or as a zip.")
            accept_upload(name, intake.upload.read(limits.max_upload_bytes + 1), staging, limits)
        elif intake.files is not None:
            accept_files(intake.files, staging, limits)
        else:
            raise SubmissionRejected("Nothing was submitted: send your files or a zip.")
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def enqueue(*, attempt_id: int, queue: str, connection: Any = None) -> None:
    """Send the attempt to its queue (called on commit). If the broker is down, say so on the attempt."""
    from .tasks import grade_attempt as grade_attempt_task

    try:
        grade_attempt_task.apply_async(args=[attempt_id], queue=queue, connection=connection)
    except Exception:
        log.exception("attempt %s: could not be queued on %s", attempt_id, queue)
        Attempt.objects.filter(pk=attempt_id, status=Attempt.Status.QUEUED).update(
            status=Attempt.Status.ERROR, message=QUEUE_DOWN, finished_at=timezone.now()
        )


# --- grading ------------------------------------------------------------------------------


def run_grading(*, lab: LabSpec, submission_dir: Path, gpus: tuple[str, ...] = ()) -> GradeReport:
    """Grade an accepted folder in a fresh sandbox. Raises GradingError or SandboxUnavailable."""
    _, runner = sandbox.backend(settings.SKILLFORGE_SANDBOX)
    return grade(lab, submission_dir, runner=runner, gpus=gpus)


def warm_sandboxes() -> int:
    """Keep fresh Docker sandboxes ready for each lab's current version; how many labs.

    Does nothing on bubblewrap (it starts in ~10 ms) or with SKILLFORGE_POOL_SIZE=0."""
    from sandbox import docker_backend

    try:
        name, _ = sandbox.backend(settings.SKILLFORGE_SANDBOX)
    except sandbox.SandboxUnavailable:
        return 0
    if name != "docker" or settings.SKILLFORGE_POOL_SIZE <= 0:
        return 0
    docker_backend.configure_pool(settings.SKILLFORGE_POOL_SIZE)
    specs = [lab.current_version.load_spec() for lab in Lab.objects.exclude(current_version=None)]
    for spec in specs:
        docker_backend.warm(spec.image, spec.limits)
    log.info("sandbox pool: %s ready per lab for %s labs", settings.SKILLFORGE_POOL_SIZE, len(specs))
    return len(specs)


def grade_path(*, lab: LabSpec, path: Path) -> GradeReport:
    """A folder or zip on disk through the same intake and pipeline (the `grade` and `labcheck` commands)."""
    with tempfile.TemporaryDirectory(prefix="sf-grade-") as tmp:
        folder = Path(tmp) / "submission"
        accept_path(Path(path), folder, lab.submission)
        return run_grading(lab=lab, submission_dir=folder)


def claim(*, attempt_id: int) -> datetime | None:
    """queued -> running in one conditional UPDATE: of two deliveries, exactly one wins.
    Returns the claim's time, which the outcome must match to be stored (the reconciler
    may have put a stuck attempt back in the queue and another worker claimed it since)."""
    now = timezone.now()
    won = Attempt.objects.filter(pk=attempt_id, status=Attempt.Status.QUEUED).update(
        status=Attempt.Status.RUNNING, started_at=now
    )
    return now if won else None


class GpuBusy(Exception):
    """Every GPU of this worker is held by another job: try again shortly (the attempt stays queued)."""


def grade_attempt(*, attempt_id: int) -> Attempt | None:
    """Claim the attempt, grade it, store the outcome. None when another delivery had claimed it.

    An attempt of a GPU lab first claims one of this worker's devices (gpus.py) and holds
    it while it runs; with none free it raises GpuBusy before touching the attempt."""
    # One read before the claim: the queue chosen at submit, and all grading needs of the row.
    attempt = Attempt.objects.select_related("submission__lab_version").filter(pk=attempt_id).first()
    if attempt is None or attempt.status != Attempt.Status.QUEUED:
        log.info("attempt %s: not queued any more (a duplicate delivery?); nothing to do", attempt_id,
                 extra={"attempt_id": attempt_id})
        return None
    if attempt.queue != "gpu":
        return _grade_claimed(attempt)
    from . import gpus

    device = gpus.try_claim(attempt_id)
    if device is None:
        raise GpuBusy(f"attempt {attempt_id}: all GPUs of this worker are busy")
    with gpus.held(device):
        return _grade_claimed(attempt, gpus.passthrough(device))


def _grade_claimed(attempt: Attempt, devices: tuple[str, ...] = ()) -> Attempt | None:
    attempt_id = attempt.pk
    claimed = claim(attempt_id=attempt_id)
    if claimed is None:  # the other delivery of a duplicate won the conditional UPDATE
        log.info("attempt %s: not queued any more (a duplicate delivery?); nothing to do", attempt_id,
                 extra={"attempt_id": attempt_id})
        return None
    attempt.status, attempt.started_at = Attempt.Status.RUNNING, claimed
    live.announce(attempt.submission_id)  # running: the live page moves on at once
    version = attempt.submission.lab_version
    ids = {"attempt_id": attempt_id, "lab": version.lab_id, "queue": attempt.queue}
    log.info("attempt %s: grading submission %s", attempt_id, attempt.submission_id, extra=ids)
    report = None
    try:
        report = run_grading(lab=version.load_spec(), submission_dir=attempt.submission.files_dir, gpus=devices)
        document = report.to_dict()
        validate_report(document)
    except (sandbox.SandboxUnavailable, SandboxFailed) as exc:  # our machines, not the learner's code
        log.warning("attempt %s: the sandbox failed (%s)", attempt_id, _technical(exc), extra=ids)
        if attempt.requeues < settings.SKILLFORGE_MAX_REQUEUES:
            return _back_to_queue(attempt, claimed, ids)  # raises Requeued unless the reconciler moved it first
        attempt = _finish(attempt_id, claimed, known=attempt, status=Attempt.Status.ERROR, message=SANDBOX_DOWN)
    except GradingError as exc:  # the lab's grader failed
        log.warning("attempt %s: grading error: %s", attempt_id, exc, extra=ids)
        attempt = _finish(attempt_id, claimed, known=attempt, status=Attempt.Status.ERROR,
                           message=str(exc) or UNEXPECTED)
    except Exception:
        log.exception("attempt %s: unexpected failure while grading", attempt_id, extra=ids)
        attempt = _finish(attempt_id, claimed, known=attempt, status=Attempt.Status.ERROR, message=UNEXPECTED)
    else:
        log.info("attempt %s: graded, score %s, %s", attempt_id, report.score, report.run.termination, extra=ids)
        attempt = _finish(
            attempt_id,
            claimed,
            known=attempt,
            status=Attempt.Status.GRADED,
            message=report.summary,
            report=document,
            score=report.score,
            passed=report.passed,
            digest=report.digest,
        )
        _issue_credential(attempt)
        signals.announce_graded(attempt)  # the LTI grade passback listens
    _record_metrics(attempt, claimed, report)
    return attempt


# --- an outage of our sandboxes: back to the queue, never the learner's error -----------------

SANDBOX_DOWN = ("We could not run your code in a sandbox (our grading machines are having trouble). Your files "
                "are saved; this is not your fault: please resubmit in a few minutes.")
RETRYING = "Retrying: our grading machines had a problem, so your submission is back in the queue."
# Seconds before the next delivery of an attempt put back after an outage, by how many times it
# has been put back already (the last repeats). With SKILLFORGE_MAX_REQUEUES = 2 an engine that is
# back within ~20 s loses nothing; a longer outage ends the attempt with SANDBOX_DOWN.
REQUEUE_BACKOFF = (5.0, 15.0, 45.0)


class Requeued(Exception):
    """The attempt is back in the queue after an outage of our sandboxes: deliver it again
    in `countdown` seconds (the Celery task retries; the attempt stays queued meanwhile)."""

    def __init__(self, attempt_id: int, countdown: float) -> None:
        super().__init__(f"attempt {attempt_id}: back in the queue, next try in {countdown:g} s")
        self.attempt_id, self.countdown = attempt_id, countdown


def requeue(*, attempt_id: int, requeues: int, state: Mapping[str, Any], **fields: Any) -> bool:
    """Put the attempt back in the queue if it is still in `state` (e.g. running under one
    claim) and was requeued `requeues` times, setting `fields` too: one conditional UPDATE, so
    of a worker and the reconciler (or two reconcilers) only one moves it. Shared by both; the
    caller re-delivers it if this returns True."""
    moved = Attempt.objects.filter(pk=attempt_id, requeues=requeues, **state).update(
        status=Attempt.Status.QUEUED, started_at=None, requeues=F("requeues") + 1, **fields)
    return bool(moved)


def _back_to_queue(attempt: Attempt, claimed: datetime, ids: dict[str, Any]) -> Attempt:
    """Our claim goes back to queued, and Requeued tells the task when to deliver it again.
    Returns (without raising) only if the claim was not ours any more: whoever moved the
    attempt (the reconciler, which re-delivers what it requeues) owns it now."""
    ours = {"status": Attempt.Status.RUNNING, "started_at": claimed}
    if not requeue(attempt_id=attempt.pk, requeues=attempt.requeues, state=ours, message=RETRYING):
        log.warning("attempt %s: no longer ours when the sandbox failed; left as it is", attempt.pk, extra=ids)
        return Attempt.objects.get(pk=attempt.pk)
    countdown = REQUEUE_BACKOFF[min(attempt.requeues, len(REQUEUE_BACKOFF) - 1)]
    log.warning("attempt %s: back in the queue (requeue %s of %s), next try in %g s", attempt.pk,
                attempt.requeues + 1, settings.SKILLFORGE_MAX_REQUEUES, countdown, extra=ids)
    raise Requeued(attempt.pk, countdown)


def _technical(exc: Exception) -> str:
    """The backend's own words about a sandbox failure, for the log."""
    if isinstance(exc, SandboxFailed):
        return f"{exc.backend or 'sandbox'}: {exc.detail}"
    return f"{type(exc).__name__}: {exc}"


def _record_metrics(attempt: Attempt, claimed: datetime, report: GradeReport | None) -> None:
    from skillforge import metrics

    version = attempt.submission.lab_version
    metrics.record_grade(
        lab=version.lab.slug, queue=attempt.queue, backend=report.run.backend if report else "none",
        outcome=attempt.status, termination=report.run.termination if report else None,
        grading_seconds=(timezone.now() - claimed).total_seconds(),
        waited_seconds=(claimed - attempt.queued_at).total_seconds(),
    )


def _issue_credential(attempt: Attempt) -> None:
    """A passed attempt earns its credential. A failure here is logged, never loses the stored grade
    (`manage.py issue_credentials` issues what is missing)."""
    if attempt.status != Attempt.Status.GRADED or not attempt.passed:
        return
    try:
        from credentials.services import issue_for_attempt

        issue_for_attempt(attempt=attempt)
    except Exception:
        log.exception("attempt %s: graded and passed, but the credential could not be issued", attempt.pk)


def _finish(attempt_id: int, claimed: datetime, *, known: Attempt | None = None, **fields: Any) -> Attempt:
    """Store the outcome if the attempt is still under our claim; the attempt as it now is
    (`known`, the grading worker's copy, updated in memory when ours was stored)."""
    if isinstance(fields.get("message"), str):
        fields["message"] = fields["message"].replace("\x00", "\ufffd")  # text columns refuse NUL
    fields["finished_at"] = timezone.now()
    ours = Attempt.objects.filter(pk=attempt_id, status=Attempt.Status.RUNNING, started_at=claimed)
    try:
        updated = _store(attempt_id, ours, fields)
    except Exception:
        # The outcome could not be stored as it is; never leave the attempt running.
        log.exception("attempt %s: could not store the outcome; recording an error instead", attempt_id)
        fields = {"finished_at": timezone.now(), "status": Attempt.Status.ERROR, "message": UNEXPECTED}
        updated = ours.update(**fields)
    if updated and known is not None:
        for name, value in fields.items():
            setattr(known, name, value)
        attempt = known
    else:
        if not updated:
            log.warning("attempt %s: no longer running when grading finished; outcome not stored", attempt_id)
        attempt = Attempt.objects.select_related("submission__lab_version").get(pk=attempt_id)
    live.announce(attempt.submission_id)  # before the credential is signed: the grade is what waiters want
    return attempt


# While grading ran, the database may have restarted (the connection opened at the claim is
# dead): the outcome is worth keeping, so storing it is retried on a new connection for ~15 s.
STORE_RETRY_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)


def _store(attempt_id: int, ours: Any, fields: dict[str, Any]) -> int:
    for pause in (*STORE_RETRY_PAUSES, None):
        try:
            return int(ours.update(**fields))  # one statement, committed on its own (autocommit)
        except (OperationalError, InterfaceError):
            if pause is None:
                raise
            log.warning("attempt %s: the database did not answer; storing the outcome again in %s s", attempt_id, pause,
                        extra={"attempt_id": attempt_id})
            connection.close()
            time.sleep(pause)
    raise AssertionError("unreachable")

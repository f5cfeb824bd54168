"""Re-grading chosen submissions of a lab on another of its versions (after a fix), in the background.

Each submission's stored files are graded again in a fresh sandbox against the target
version's snapshot; the outcome is a RegradeItem beside the original attempt, which is
never changed, so submissions and credentials keep pointing at the version they were
graded on. The job page lists who went from pass to fail and from fail to pass, per check.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

import sandbox
from catalog.models import Lab, LabVersion
from catalog.snapshots import SnapshotError
from graders import GradingError
from graders.hashing import tree_hash
from submissions.models import Attempt, Submission

from .drafts import AuthoringError
from .models import ItemStatus, JobStatus, RegradeItem, RegradeJob, Selection
from .overrides import effective_many

log = logging.getLogger("skillforge.authoring")


def candidates(*, lab: Lab, target: LabVersion, selection: str, since: datetime | None = None,
               latest_only: bool = True) -> list[tuple[Submission, Attempt]]:
    """Accepted submissions graded on another version of the lab, with their latest graded attempt."""
    submissions = list(Submission.objects.filter(lab_version__lab=lab, status=Submission.Status.ACCEPTED)
                       .exclude(lab_version=target).order_by("-created_at"))
    attempts: dict[Any, Attempt] = {}
    for attempt in (Attempt.objects.filter(submission__in=submissions, status=Attempt.Status.GRADED)
                    .order_by("submission_id", "-queued_at", "-id")):
        attempts.setdefault(attempt.submission_id, attempt)
    overrides = effective_many([a.pk for a in attempts.values()])
    chosen: list[tuple[Submission, Attempt]] = []
    learners: set[int] = set()
    for submission in submissions:  # newest first
        attempt = attempts.get(submission.pk)
        if attempt is None or not attempt.report:
            continue
        if latest_only:
            if submission.learner_id in learners:
                continue
            learners.add(submission.learner_id)
        passed = overrides[attempt.pk].to_passed if attempt.pk in overrides else attempt.passed
        if selection == Selection.FAILING and passed:
            continue
        if selection == Selection.SINCE and since is not None and submission.created_at < since:
            continue
        chosen.append((submission, attempt))
    return chosen


def _statuses(report: dict[str, Any] | None) -> dict[str, str]:
    return {c["id"]: c["status"] for c in (report or {}).get("checks", []) if isinstance(c, dict) and "id" in c}


def start_regrade(*, lab: Lab, target: LabVersion, user: Any, selection: str, since: datetime | None = None,
                  latest_only: bool = True) -> RegradeJob:
    if target.lab_id != lab.pk:
        raise AuthoringError("That version belongs to another lab.")
    if selection == Selection.SINCE and since is None:
        raise AuthoringError("Give the date to re-grade submissions since.")
    chosen = candidates(lab=lab, target=target, selection=selection, since=since, latest_only=latest_only)
    if not chosen:
        raise AuthoringError("No submissions match: nothing graded on another version of this lab was chosen.")
    with transaction.atomic():
        job = RegradeJob.objects.create(lab=lab, target=target, requested_by=user, selection=selection, since=since,
                                        latest_only=latest_only, total=len(chosen))
        RegradeItem.objects.bulk_create([
            RegradeItem(job=job, submission=s, old_attempt=a, old_score=a.score or 0.0, old_passed=bool(a.passed),
                        old_checks=_statuses(a.report)) for s, a in chosen
        ])
        transaction.on_commit(partial(enqueue_regrade, job_id=job.pk, queue=target.queue))
    log.info("re-grade %s of %s on %s: %s submissions queued", job.pk, lab.slug, target.short_hash, len(chosen))
    return job


def enqueue_regrade(*, job_id: int, queue: str, connection: Any = None) -> None:
    from .tasks import regrade_job

    try:
        regrade_job.apply_async(args=[job_id], queue=queue, connection=connection)
    except Exception:
        log.exception("re-grade %s could not be queued", job_id)
        RegradeJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.ERROR, finished_at=timezone.now(),
            message="The re-grade could not be queued (the task queue did not answer). Start it again in a minute.")


def regrade_item(item: RegradeItem, spec: Any) -> None:
    """Grade one submission's stored files on the target spec; store the outcome once."""
    submission = item.submission
    fields: dict[str, Any]
    files = submission.files_dir
    if not files.is_dir() or tree_hash(files) != submission.content_hash:
        fields = {"status": ItemStatus.ERROR, "message": "The submission's files are no longer stored intact."}
    else:
        from submissions.services import run_grading

        with tempfile.TemporaryDirectory(prefix="sf-regrade-") as tmp:
            copy = Path(tmp) / "submission"
            shutil.copytree(files, copy, symlinks=True)
            try:
                report = run_grading(lab=spec, submission_dir=copy)
            except (GradingError, sandbox.SandboxUnavailable) as exc:
                report, fields = None, {"status": ItemStatus.ERROR, "message": str(exc)[:2000]}
        if report is not None:
            document = report.to_dict()
            fields = {"status": ItemStatus.DONE, "new_score": report.score, "new_passed": report.passed,
                      "new_checks": _statuses(document), "new_digest": report.digest, "new_report": document,
                      "message": report.summary}
    with transaction.atomic():
        won = RegradeItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(finished_at=timezone.now(),
                                                                                       **fields)
        if won:
            RegradeJob.objects.filter(pk=item.job_id).update(done=F("done") + 1)


def run_regrade(*, job_id: int) -> RegradeJob | None:
    """What the task runs: claim the job, grade every pending item, finish. A redelivered job
    (a worker died) carries on with the items still pending."""
    now = timezone.now()
    claimed = RegradeJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING,
                                                                                  started_at=now)
    job = RegradeJob.objects.select_related("target").filter(pk=job_id).first()
    if job is None or (not claimed and job.status != JobStatus.RUNNING):
        return None
    try:
        spec = job.target.load_spec()
    except SnapshotError as exc:
        RegradeJob.objects.filter(pk=job_id).update(status=JobStatus.ERROR, message=str(exc), finished_at=timezone.now())
        return RegradeJob.objects.get(pk=job_id)
    for item in job.items.filter(status=ItemStatus.PENDING).select_related("submission"):
        try:
            regrade_item(item, spec)
        except Exception:
            log.exception("re-grade %s: item %s failed unexpectedly", job_id, item.pk)
            with transaction.atomic():
                if RegradeItem.objects.filter(pk=item.pk, status=ItemStatus.PENDING).update(
                        status=ItemStatus.ERROR, message="Re-grading failed on our side; it has been logged.",
                        finished_at=timezone.now()):
                    RegradeJob.objects.filter(pk=job_id).update(done=F("done") + 1)
    RegradeJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(status=JobStatus.FINISHED,
                                                                         finished_at=timezone.now())
    log.info("re-grade %s finished", job_id)
    return RegradeJob.objects.get(pk=job_id)


def outcome(job: RegradeJob) -> dict[str, Any]:
    """The result page: counts, who changed (pass→fail, fail→pass) with their per-check changes, and errors."""
    items = list(job.items.select_related("submission__learner", "submission__lab_version").order_by("id"))
    changed = {"pass→fail": [], "fail→pass": []}  # type: dict[str, list[RegradeItem]]
    per_check: dict[str, dict[str, int]] = {}
    for item in items:
        if item.change in changed:
            changed[item.change].append(item)
        for check_id, old, new in item.check_changes():
            counts = per_check.setdefault(check_id, {"pass→fail": 0, "fail→pass": 0, "other": 0})
            key = "pass→fail" if old == "pass" else "fail→pass" if new == "pass" else "other"
            counts[key] += 1
    return {
        "items": items,
        "pass_to_fail": changed["pass→fail"],
        "fail_to_pass": changed["fail→pass"],
        "changed_groups": [("Pass → fail", changed["pass→fail"]), ("Fail → pass", changed["fail→pass"])],
        "same": sum(1 for i in items if i.change == "same"),
        "errors": [i for i in items if i.status == ItemStatus.ERROR],
        "per_check": [(cid, c["pass→fail"], c["fail→pass"], c["other"]) for cid, c in sorted(per_check.items())],
    }

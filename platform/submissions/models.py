"""A Submission is what a learner sent (files on disk + content hash, or a rejection with
its message); each grading of it is an Attempt: queued -> running -> graded | error."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> SubmissionQuerySet:
        """A learner sees their own submissions; an instructor also those to the labs they own; staff see all.

        Labs imported from labs/ have no owner: they are staff's (docs/security.md, the matrix)."""
        from accounts.models import is_instructor

        if not getattr(user, "is_authenticated", False):
            return self.none()
        if getattr(user, "is_staff", False):
            return self
        if is_instructor(user):
            return self.filter(Q(learner=user) | Q(lab_version__lab__owner=user))
        return self.filter(learner=user)


class SubmissionStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Source(models.TextChoices):
    EDITOR = "editor", "Browser editor"
    UPLOAD = "upload", "Zip upload"
    API_FILES = "api_files", "API (JSON files)"
    API_ZIP = "api_zip", "API (zip)"


class AttemptStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    GRADED = "graded", "Graded"
    ERROR = "error", "Error"


class Submission(models.Model):
    Status = SubmissionStatus
    Source = Source

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    learner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    lab_version = models.ForeignKey("catalog.LabVersion", on_delete=models.PROTECT, related_name="submissions")
    source = models.CharField(max_length=16, choices=Source.choices)
    status = models.CharField(max_length=16, choices=SubmissionStatus.choices)
    message = models.TextField(blank=True, help_text="Why it was rejected, for the learner.")
    content_hash = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["learner", "-created_at"], name="submission_learner_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=Source.values), name="submission_source_known"),
            models.CheckConstraint(
                condition=Q(status="accepted", content_hash__startswith="sha256:")
                | (Q(status="rejected") & ~Q(message="")),
                name="submission_accepted_has_hash_rejected_has_message",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def files_dir(self) -> Path:
        return submission_dir(self.id)

    @property
    def latest_attempt(self) -> Attempt | None:
        return self.attempts.order_by("-queued_at", "-id").first()

    def display_status(self, attempt: Attempt | None = None) -> str:
        """rejected, or the latest attempt's status."""
        if self.status == self.Status.REJECTED:
            return SubmissionStatus.REJECTED
        attempt = attempt or self.latest_attempt
        return attempt.status if attempt else AttemptStatus.QUEUED


def submission_dir(submission_id: uuid.UUID | str) -> Path:
    return Path(settings.SKILLFORGE_DATA_DIR) / "submissions" / str(submission_id)


class Attempt(models.Model):
    Status = AttemptStatus
    TERMINAL = (AttemptStatus.GRADED, AttemptStatus.ERROR)

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="attempts")
    status = models.CharField(max_length=16, choices=AttemptStatus.choices, default=AttemptStatus.QUEUED)
    message = models.TextField(blank=True, help_text="The summary for the learner, or what went wrong.")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    digest = models.CharField(max_length=80, blank=True)
    requeues = models.PositiveSmallIntegerField(
        default=0, help_text="Times the reconciler put it back in the queue (lost message, or a grader that died).")
    queue = models.CharField(
        max_length=8, choices=[("cpu", "CPU"), ("gpu", "GPU")], blank=True,
        help_text="The Celery queue it was sent to: its lab version's, or for a lab with gpu = \"optional\" the one "
                  "chosen at submit time (gpus.route). Left empty, save() takes the lab version's.")

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AttemptStatus.values), name="attempt_status_known"),
            models.CheckConstraint(condition=~Q(status="queued") | Q(started_at__isnull=True, finished_at__isnull=True),
                                   name="attempt_queued_not_started"),
            models.CheckConstraint(condition=~Q(status="running") | Q(started_at__isnull=False, finished_at__isnull=True),
                                   name="attempt_running_has_started"),
            models.CheckConstraint(
                condition=~Q(status="graded")
                | Q(finished_at__isnull=False, report__isnull=False, score__isnull=False, passed__isnull=False,
                    digest__startswith="sha256:"),
                name="attempt_graded_has_report",
            ),
            models.CheckConstraint(condition=~Q(status="error") | (Q(finished_at__isnull=False) & ~Q(message="")),
                                   name="attempt_error_has_message"),
            models.CheckConstraint(condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=1),
                                   name="attempt_score_in_range"),
            models.UniqueConstraint(fields=["submission"], condition=Q(status__in=["queued", "running"]),
                                    name="attempt_one_in_flight_per_submission"),
            models.CheckConstraint(condition=Q(queue__in=["cpu", "gpu"]), name="attempt_queue_known"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.queue:
            self.queue = self.submission.lab_version.queue
        super().save(*args, **kwargs)

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class GpuClaim(models.Model):
    """One GPU device held by one grading job. The row exists only while the job runs; a
    holder that dies stops renewing it and the claim expires (gpus.py), so a crashed
    worker never keeps a device."""

    device = models.CharField(max_length=64, unique=True, help_text="host:device id, e.g. gpu-node-1:0")
    holder = models.CharField(max_length=200, help_text="host:pid of the worker process holding it")
    attempt = models.ForeignKey(Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="gpu_claims")
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.device} held by {self.holder} until {self.expires_at:%H:%M:%S}"


class GpuWorker(models.Model):
    """A live worker that consumes the gpu queue, with how many devices it has. Its process
    renews the row every SKILLFORGE_GPU_CLAIM_TTL / 3 seconds (gpus.worker_heartbeat); a
    row past expires_at is a dead worker. Submitting to a lab with gpu = "optional" reads
    it to pick the gpu queue only while someone serves it (gpus.route)."""

    name = models.CharField(max_length=200, unique=True, help_text="host:pid of the worker process")
    devices = models.PositiveSmallIntegerField(help_text="GPU devices this worker claims from")
    seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.devices} GPU(s), alive until {self.expires_at:%H:%M:%S}"

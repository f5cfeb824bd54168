"""Authoring in the browser: a draft lab (a folder on disk laid out like labs/<slug>/), its
validation runs, re-grade jobs and their per-submission results, and audited grade overrides.

A draft is the instructor's working copy; publishing copies exactly what a green
validation run checked into an immutable catalog LabVersion (by content hash).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def authoring_dir() -> Path:
    return Path(settings.SKILLFORGE_DATA_DIR) / "authoring"


class LabDraft(models.Model):
    """One lab's working copy. lab/ is labs/<slug>/; wrong/ holds known-wrong solutions
    (tests/labs/<slug>/wrong_*), which validation grades but publishing leaves out."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=64, unique=True, help_text="A lab has at most one draft.")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_drafts")
    lab = models.ForeignKey("catalog.Lab", null=True, blank=True, on_delete=models.SET_NULL, related_name="drafts",
                            help_text="The published lab this draft updates (set on first publish).")
    base_hash = models.CharField(max_length=80, blank=True,
                                 help_text="The content hash of the version it was copied from or last published as.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"draft {self.slug}"

    @property
    def folder(self) -> Path:
        return authoring_dir() / "drafts" / str(self.id)

    @property
    def lab_dir(self) -> Path:
        return self.folder / "lab"

    @property
    def wrong_dir(self) -> Path:
        return self.folder / "wrong"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Error"


class ValidationRun(models.Model):
    """One press of 'Validate': the solution, starter and wrong solutions graded in the sandbox.

    The draft is copied at request time (folder/lab, folder/wrong), so what was validated is
    exactly what publishing copies, whatever the instructor edits meanwhile."""

    Status = RunStatus

    draft = models.ForeignKey(LabDraft, on_delete=models.CASCADE, related_name="validations")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    lab_hash = models.CharField(max_length=80, help_text="Content hash of the lab files validated.")
    wrong_hash = models.CharField(max_length=80, help_text="Content hash of the wrong solutions validated.")
    facts = models.JSONField(default=list, blank=True, help_text="[{ok, text, where}] in the order they were proved.")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=RunStatus.values), name="validationrun_status_known"),
            models.CheckConstraint(condition=Q(lab_hash__startswith="sha256:"), name="validationrun_lab_hash_sha256"),
        ]

    def __str__(self) -> str:
        return f"validation {self.pk} of {self.draft.slug} ({self.status})"

    @property
    def folder(self) -> Path:
        return authoring_dir() / "validations" / str(self.pk)

    @property
    def is_done(self) -> bool:
        return self.status in (RunStatus.PASSED, RunStatus.FAILED, RunStatus.ERROR)

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Selection(models.TextChoices):
    ALL = "all", "All submissions"
    FAILING = "failing", "Failing submissions only"
    SINCE = "since", "Submissions since a date"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    ERROR = "error", "Error"


class RegradeJob(models.Model):
    """Re-grade chosen submissions of a lab on one of its versions, in the background."""

    Status = JobStatus

    lab = models.ForeignKey("catalog.Lab", on_delete=models.CASCADE, related_name="regrade_jobs")
    target = models.ForeignKey("catalog.LabVersion", on_delete=models.PROTECT, related_name="regrade_jobs")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    selection = models.CharField(max_length=16, choices=Selection.choices, default=Selection.ALL)
    since = models.DateTimeField(null=True, blank=True)
    latest_only = models.BooleanField(default=True, help_text="Only each learner's latest submission.")
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    message = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="regradejob_status_known"),
            models.CheckConstraint(condition=Q(done__lte=models.F("total")), name="regradejob_done_within_total"),
            models.CheckConstraint(condition=~Q(selection="since") | Q(since__isnull=False), name="regradejob_since_has_date"),
        ]

    def __str__(self) -> str:
        return f"re-grade {self.pk} of {self.lab} on {self.target.short_hash}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.FINISHED, JobStatus.ERROR)


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    ERROR = "error", "Error"


class RegradeItem(models.Model):
    """One submission re-graded on the job's target version; the original attempt is untouched."""

    Status = ItemStatus

    job = models.ForeignKey(RegradeJob, on_delete=models.CASCADE, related_name="items")
    submission = models.ForeignKey("submissions.Submission", on_delete=models.CASCADE, related_name="+")
    old_attempt = models.ForeignKey("submissions.Attempt", on_delete=models.CASCADE, related_name="+")
    old_score = models.FloatField()
    old_passed = models.BooleanField()
    old_checks = models.JSONField(default=dict, help_text="{check id: status} of the original report.")
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    new_score = models.FloatField(null=True, blank=True)
    new_passed = models.BooleanField(null=True, blank=True)
    new_checks = models.JSONField(default=dict, blank=True)
    new_digest = models.CharField(max_length=80, blank=True)
    new_report = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "submission"], name="regradeitem_once_per_job"),
            models.CheckConstraint(condition=Q(status__in=ItemStatus.values), name="regradeitem_status_known"),
            models.CheckConstraint(condition=~Q(status="done") | Q(new_score__isnull=False, new_passed__isnull=False),
                                   name="regradeitem_done_has_score"),
        ]

    def __str__(self) -> str:
        return f"re-grade item {self.pk} ({self.status})"

    @property
    def change(self) -> str:
        """pass→fail, fail→pass, same, or error."""
        if self.status != ItemStatus.DONE:
            return self.status
        if self.old_passed and not self.new_passed:
            return "pass→fail"
        if not self.old_passed and self.new_passed:
            return "fail→pass"
        return "same"

    def check_changes(self) -> list[tuple[str, str, str]]:
        """(check id, old status, new status) for each check whose status changed (or appeared/vanished)."""
        ids = list(self.old_checks) + [c for c in self.new_checks if c not in self.old_checks]
        return [(cid, self.old_checks.get(cid, "—"), self.new_checks.get(cid, "—")) for cid in ids
                if self.old_checks.get(cid) != self.new_checks.get(cid)]


class GradeOverride(models.Model):
    """An instructor's override of an attempt's grade: an append-only audit row. The latest one is in force."""

    attempt = models.ForeignKey("submissions.Attempt", on_delete=models.CASCADE, related_name="overrides")
    instructor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grade_overrides")
    created_at = models.DateTimeField(default=timezone.now)
    from_score = models.FloatField()
    from_passed = models.BooleanField()
    to_score = models.FloatField()
    to_passed = models.BooleanField()
    reason = models.TextField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="gradeoverride_has_reason"),
            models.CheckConstraint(condition=Q(to_score__gte=0, to_score__lte=1), name="gradeoverride_score_in_range"),
            models.CheckConstraint(condition=Q(from_score__gte=0, from_score__lte=1),
                                   name="gradeoverride_from_score_in_range"),
        ]

    def __str__(self) -> str:
        return f"override of attempt {self.attempt_id}: {self.from_score:g} → {self.to_score:g}"

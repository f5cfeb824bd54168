"""Manual grade overrides: an audited row per change (who, when, from, to, why). The attempt's
stored report is never rewritten (a credential may pin its digest); the displayed grade is
the latest override where there is one."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from submissions.models import Attempt

from .drafts import AuthoringError
from .models import GradeOverride

log = logging.getLogger("skillforge.authoring")


@dataclass(frozen=True)
class Grade:
    score: float | None
    passed: bool | None
    override: GradeOverride | None = None


def effective(attempt: Attempt) -> Grade:
    """The grade in force: the latest override, else what the grader gave."""
    latest = attempt.overrides.select_related("instructor").order_by("-created_at", "-id").first()
    if latest is not None:
        return Grade(latest.to_score, latest.to_passed, latest)
    return Grade(attempt.score, attempt.passed)


def effective_many(attempt_ids: list[int]) -> dict[int, GradeOverride]:
    """The override in force for each of these attempts that has one (one query)."""
    latest: dict[int, GradeOverride] = {}
    for row in GradeOverride.objects.filter(attempt_id__in=attempt_ids).order_by("attempt_id", "created_at", "id"):
        latest[row.attempt_id] = row
    return latest


def override_grade(*, attempt: Attempt, instructor: Any, score: float, reason: str) -> GradeOverride:
    """Record an override. Passing follows the lab version's bar, as for a graded score."""
    if attempt.status != Attempt.Status.GRADED:
        raise AuthoringError("Only a graded attempt can be overridden; this one has no grade yet.")
    reason = (reason or "").strip()
    if not reason:
        raise AuthoringError("Say why: an override needs a reason, which the learner sees.")
    if not isinstance(score, int | float) or math.isnan(score) or not 0 <= score <= 1:
        raise AuthoringError("The score must be between 0 and 1.")
    bar = attempt.submission.lab_version.pass_bar
    with transaction.atomic():
        locked = Attempt.objects.select_for_update().get(pk=attempt.pk)
        current = effective(locked)
        row = GradeOverride.objects.create(
            attempt=locked, instructor=instructor, from_score=current.score or 0.0, from_passed=bool(current.passed),
            to_score=round(float(score), 4), to_passed=float(score) >= bar, reason=reason,
        )
    log.info("attempt %s: grade overridden by %s: %s -> %s", attempt.pk, instructor, row.from_score, row.to_score)
    return row

"""What the live submission page shows besides the report: where the attempt is in the queue,
how long it has run against its limit, what changed since the learner's previous attempt,
and their attempts at this lab."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from .models import Attempt, Submission


def queue_position(attempt: Attempt, queue: str) -> int:
    """1 = next to be picked up on its queue (attempts queued before it on the same queue, plus one)."""
    ahead = Attempt.objects.filter(status=Attempt.Status.QUEUED, queue=queue,
                                   queued_at__lt=attempt.queued_at).count()
    return ahead + 1


def running_now(queue: str) -> int:
    return Attempt.objects.filter(status=Attempt.Status.RUNNING, queue=queue).count()


def elapsed(attempt: Attempt) -> float:
    since = attempt.started_at or attempt.queued_at
    return max(0.0, (timezone.now() - since).total_seconds())


@dataclass
class CheckChange:
    name: str
    before: str
    after: str


@dataclass
class Diff:
    """This attempt against the learner's previous graded attempt at the same lab."""

    previous: Attempt
    score_delta: float
    gained: list[CheckChange] = field(default_factory=list)  # failing before, passing now
    lost: list[CheckChange] = field(default_factory=list)  # passing before, failing now
    changed: list[CheckChange] = field(default_factory=list)  # other status changes (skip, error…)

    @property
    def headline(self) -> str:
        parts = []
        if self.gained:
            n = len(self.gained)
            parts.append(f"{n} more check{'s' if n != 1 else ''} pass{'es' if n == 1 else ''}")
        if self.lost:
            n = len(self.lost)
            parts.append(f"{n} check{'s' if n != 1 else ''} that passed before now fail{'s' if n == 1 else ''}")
        if not parts:
            parts.append("the same checks pass")
        if abs(self.score_delta) >= 0.005:
            parts.append(f"score {self.score_delta:+.2f}")
        return "; ".join(parts)


def previous_graded(submission: Submission) -> Attempt | None:
    return (Attempt.objects.filter(submission__learner_id=submission.learner_id,
                                   submission__lab_version__lab_id=submission.lab_version.lab_id,
                                   submission__created_at__lt=submission.created_at, status=Attempt.Status.GRADED)
            .order_by("-submission__created_at", "-queued_at").first())


def diff(attempt: Attempt | None, submission: Submission) -> Diff | None:
    if attempt is None or attempt.status != Attempt.Status.GRADED or not attempt.report:
        return None
    previous = previous_graded(submission)
    if previous is None or not previous.report:
        return None
    before = {c.get("id"): c for c in previous.report.get("checks", [])}
    result = Diff(previous=previous, score_delta=(attempt.score or 0) - (previous.score or 0))
    for check in attempt.report.get("checks", []):
        old = before.get(check.get("id"))
        was, now = (old or {}).get("status", "new"), check.get("status", "?")
        if was == now:
            continue
        change = CheckChange(name=check.get("name", check.get("id", "?")), before=was, after=now)
        if now == "pass":
            result.gained.append(change)
        elif was == "pass":
            result.lost.append(change)
        else:
            result.changed.append(change)
    return result


def history(submission: Submission, limit: int = 10) -> list[tuple[Submission, Attempt | None]]:
    """The learner's latest submissions to this lab (any version), newest first, with their latest attempt."""
    rows = list(Submission.objects.filter(learner_id=submission.learner_id,
                                          lab_version__lab_id=submission.lab_version.lab_id)
                .select_related("lab_version").prefetch_related("attempts")[:limit])
    out = []
    for row in rows:
        attempts = sorted(row.attempts.all(), key=lambda a: (a.queued_at, a.pk), reverse=True)
        out.append((row, attempts[0] if attempts else None))
    return out


def live_facts(submission: Submission, attempt: Attempt | None, status: str) -> dict[str, Any]:
    """Queue position while queued; elapsed time against the wall limit while running."""
    if attempt is None:
        return {}
    queue = attempt.queue
    if status == Attempt.Status.QUEUED:
        return {"position": queue_position(attempt, queue), "running": running_now(queue),
                "waiting": elapsed(attempt)}
    if status == Attempt.Status.RUNNING:
        try:
            limit = float(submission.lab_version.load_spec().limits.wall_seconds)
        except Exception:  # a missing snapshot must not break the live page
            limit = 0.0
        seconds = elapsed(attempt)
        return {"elapsed": seconds, "limit": limit, "percent": min(100, int(100 * seconds / limit)) if limit else 0}
    return {}

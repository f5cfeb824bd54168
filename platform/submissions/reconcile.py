"""The reconciler: no attempt waits for ever.

Celery beat runs `reconcile()` every minute (submissions.reconcile_attempts):

- an attempt *queued* past SKILLFORGE_QUEUED_DEADLINE (times one more for each
  requeue) lost its message (a broker restarted without persistence) or has no worker
  serving its queue (no GPU grader): it is queued again, up to SKILLFORGE_MAX_REQUEUES
  times, then ends as an error that says so;
- an attempt *running* past its lab's wall limit plus SKILLFORGE_RUNNING_MARGIN lost its
  grader (killed, machine gone): the sandbox would have stopped it by then, so it is put
  back in the queue, up to the same number of times, then ends as an error.

Every change is a conditional UPDATE on the state it read, so a worker finishing at the
same moment, or two reconcilers, never produce two outcomes; a grader that comes back
late cannot store its result either (services._finish matches the claim's time).
A worker whose sandbox fails (our outage, not the learner's code) requeues the attempt
itself with the same `services.requeue` and the same counter (services._back_to_queue).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import Attempt
from .services import enqueue, requeue

log = logging.getLogger("skillforge.reconcile")


def never_picked_up(queue: str, waited: timedelta) -> str:
    what = "GPU grader" if queue == "gpu" else "grader"
    minutes = max(1, round(waited.total_seconds() / 60))
    return (f"No {what} picked up your submission within {minutes} minutes, so it was stopped. "
            "Your files are saved: please resubmit later.")


INTERRUPTED = ("Grading kept being interrupted (the grader stopped while running your code), so it was "
               "stopped. Your files are saved; this is not your fault: please resubmit.")


@dataclass
class Outcome:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def _requeue(attempt: Attempt, outcome: Outcome, **state: object) -> None:
    from .gpus import requeue_route

    queue = requeue_route(attempt)  # its own queue; an optional-GPU lab's falls back to cpu without GPU workers
    moved = requeue(attempt_id=attempt.pk, requeues=attempt.requeues, state=state, queue=queue)
    if moved:
        outcome.requeued.append(attempt.pk)
        enqueue(attempt_id=attempt.pk, queue=queue)


def _fail(attempt: Attempt, outcome: Outcome, message: str, now: datetime, **state: object) -> None:
    if Attempt.objects.filter(pk=attempt.pk, requeues=attempt.requeues, **state).update(
            status=Attempt.Status.ERROR, message=message, finished_at=now):
        outcome.failed.append(attempt.pk)


def reconcile(*, now: datetime | None = None) -> Outcome:
    now = now or timezone.now()
    outcome = Outcome()
    deadline = timedelta(seconds=settings.SKILLFORGE_QUEUED_DEADLINE)
    most = settings.SKILLFORGE_MAX_REQUEUES
    queued = Attempt.objects.filter(status=Attempt.Status.QUEUED, queued_at__lt=now - deadline)
    for attempt in queued.select_related("submission__lab_version"):
        if attempt.queued_at >= now - deadline * (attempt.requeues + 1):
            continue
        if attempt.requeues >= most:
            message = never_picked_up(attempt.queue, now - attempt.queued_at)
            _fail(attempt, outcome, message, now, status=Attempt.Status.QUEUED)
        else:
            _requeue(attempt, outcome, status=Attempt.Status.QUEUED)
    margin = timedelta(seconds=settings.SKILLFORGE_RUNNING_MARGIN)
    running = Attempt.objects.filter(status=Attempt.Status.RUNNING, started_at__lt=now - margin)
    for attempt in running.select_related("submission__lab_version"):
        wall = timedelta(seconds=attempt.submission.lab_version.load_spec().limits.wall_seconds)
        assert attempt.started_at is not None
        if attempt.started_at >= now - wall - margin:
            continue
        state = {"status": Attempt.Status.RUNNING, "started_at": attempt.started_at}
        if attempt.requeues >= most:
            _fail(attempt, outcome, INTERRUPTED, now, **state)
        else:
            _requeue(attempt, outcome, **state)
    if outcome.requeued or outcome.failed:
        log.warning("reconciler: requeued %s, failed %s", outcome.requeued, outcome.failed)
    return outcome

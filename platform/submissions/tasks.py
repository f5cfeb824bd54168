"""Celery tasks. A task makes one call into the domain layer and keeps no state."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="submissions.grade_attempt", acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             bind=True, max_retries=None)
def grade_attempt(self, attempt_id: int) -> None:
    """Grade one attempt. Safe to deliver twice: only the delivery that claims it grades.
    A GPU job that finds every device of this worker busy goes back to its queue; so does
    one our sandboxes failed (the attempt is queued again, with a back-off). Either way the
    retry is a new message on the queue this one came from; if the broker refuses it, the
    attempt stays queued and the reconciler sends it again."""
    try:
        services.grade_attempt(attempt_id=attempt_id)
    except services.GpuBusy as exc:
        raise self.retry(exc=exc, countdown=2) from None
    except services.Requeued as exc:
        raise self.retry(exc=exc, countdown=exc.countdown) from None


@shared_task(name="submissions.reconcile_attempts", ignore_result=True)
def reconcile_attempts() -> None:
    """Celery beat, every minute: requeue or fail attempts stuck in queued/running."""
    from .reconcile import reconcile

    reconcile()

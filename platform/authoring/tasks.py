"""Celery tasks for authoring. Each makes one call into the domain layer and keeps no state;
both are safe to deliver twice (the validation claim is a conditional UPDATE; a re-grade
item's outcome is stored only by the delivery that finds it still pending)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="authoring.validate_draft", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def validate_draft(run_id: int) -> None:
    from .services import run_validation

    run_validation(run_id=run_id)


@shared_task(name="authoring.regrade_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def regrade_job(job_id: int) -> None:
    from .regrade import run_regrade

    run_regrade(job_id=job_id)

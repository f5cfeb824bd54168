from __future__ import annotations

import logging

import requests
from celery import shared_task
from pylti1p3.exception import LtiException

from . import services
from .models import LaunchedLab

log = logging.getLogger("skillforge.lti")


@shared_task(name="lti.send_score", bind=True, acks_late=True, max_retries=6,
             autoretry_for=(LtiException, requests.RequestException), retry_backoff=30, retry_backoff_max=1800)
def send_score(self, launched_id: int) -> float | None:
    """Idempotent: it always sends the current best score, so a retry or a duplicate does no harm."""
    launched = LaunchedLab.objects.select_related("registration", "lti_user").filter(pk=launched_id).first()
    if launched is None:
        return None
    return services.send_score(launched=launched)

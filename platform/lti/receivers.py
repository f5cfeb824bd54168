"""Grade passback: when an attempt is graded, each LMS line item that lab was launched from gets the score."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from submissions.signals import attempt_graded


@receiver(attempt_graded, dispatch_uid="lti.passback")
def passback(sender: Any, attempt: Any, **kwargs: Any) -> None:
    from .models import LaunchedLab
    from .tasks import send_score

    submission = attempt.submission
    targets = LaunchedLab.objects.filter(user_id=submission.learner_id, lab_id=submission.lab_version.lab_id).exclude(lineitem="")
    for launched_id in targets.values_list("pk", flat=True):
        send_score.apply_async(args=[launched_id], queue="cpu")

"""attempt_graded: sent once an attempt's grade is stored (and its credential issued, if it passed).

Receivers (the LTI grade passback) must not slow grading down or break it: send_robust
catches what they raise, and each failure is logged with the attempt id.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

log = logging.getLogger("skillforge.grading")

# send(sender=Attempt, attempt=<the graded Attempt>)
attempt_graded = Signal()


def announce_graded(attempt: Any) -> None:
    from .models import Attempt

    if attempt.status != Attempt.Status.GRADED:
        return
    for receiver, outcome in attempt_graded.send_robust(sender=Attempt, attempt=attempt):
        if isinstance(outcome, Exception):
            log.error("attempt %s: %s failed after grading: %r", attempt.pk, getattr(receiver, "__qualname__", receiver),
                      outcome, extra={"attempt_id": attempt.pk})

"""The service this pipeline ships: a support-ticket router.

route() sends a ticket to one of five queues. (In a real team this would be a fine-tuned
model; the CI/CD around it is the same.)
"""

from __future__ import annotations

QUEUES = ("billing", "bug_report", "account_access", "feature_request", "cancellation")

KEYWORDS = {
    "cancellation": ("cancel", "unsubscribe", "close my account"),
    "billing": ("invoice", "charge", "refund", "payment", "billing"),
    "account_access": ("password", "log in", "login", "locked out", "2fa"),
    "bug_report": ("error", "crash", "broken", "bug", "doesn't work"),
    "feature_request": ("would be great", "feature", "please add", "could you add"),
}


def route(text: str) -> str:
    lowered = text.lower()
    for queue, words in KEYWORDS.items():
        if any(word in lowered for word in words):
            return queue
    return "feature_request"

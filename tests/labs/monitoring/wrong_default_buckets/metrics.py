"""The service's metrics, in Prometheus' base units (seconds, tokens, requests).

Every label value comes from a small, fixed set (HTTP statuses, "prompt"/"completion"):
a label is a new time series per value, so request ids, users and prompts never go in one.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from collections import deque

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "llm_requests",
    "Requests to /v1/generate, by the HTTP status the service answered.",
    ["status"],
)
REQUEST_DURATION = Histogram(
    "llm_request_duration_seconds",
    "Seconds from a /v1/generate request's arrival to the end of its response (the whole stream).",
)
# The TTFT objective is 1 s, so 1 s is a bucket boundary, with resolution below it.
TIME_TO_FIRST_TOKEN = Histogram(
    "llm_time_to_first_token_seconds",
    "Seconds from a /v1/generate request's arrival to the first generated text sent to the client.",
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)
TOKENS = Counter(
    "llm_tokens",
    "Tokens processed, as the model reported them in its usage: type is prompt or completion.",
    ["type"],
)
IN_FLIGHT = Gauge("llm_requests_in_flight", "Requests to /v1/generate being handled right now.")
DRIFT_SCORE = Gauge(
    "llm_input_drift_score",
    "Population stability index of prompt lengths: the last 50 prompts against the first 50.",
)

# -- input drift ----------------------------------------------------------------------------

WINDOW = 50  # prompts in the reference window (the first ones) and the current window (the latest)
BIN_EDGES = (8, 16, 32, 64, 128, 256)  # prompt length in words: [0, 8), [8, 16), ..., [256, inf)
EPSILON = 1e-4  # a proportion below this counts as this, so an empty bin does not give log(0)


def length_bin(prompt: str) -> int:
    """The bin of a prompt's length in words."""
    words = len(prompt.split())
    return sum(words >= edge for edge in BIN_EDGES)


def psi(reference: list[int], current: list[int]) -> float:
    """Population stability index of two lists of bins: sum of (c - r) * ln(c / r)."""
    if not reference or not current:
        return 0.0
    ref, cur = Tally(reference), Tally(current)
    total = 0.0
    for b in range(len(BIN_EDGES) + 1):
        r = max(ref[b] / len(reference), EPSILON)
        c = max(cur[b] / len(current), EPSILON)
        total += (c - r) * math.log(c / r)
    return total


class DriftMonitor:
    """Prompt-length drift: the first `window` valid prompts are the reference, the latest
    `window` the current window; the score is their PSI (0 until the reference is full)."""

    def __init__(self, gauge: Gauge | None = None, window: int = WINDOW) -> None:
        self.gauge, self.window = gauge, window
        self.reference: list[int] = []
        self.current: deque[int] = deque(maxlen=window)

    def observe(self, prompt: str) -> float:
        b = length_bin(prompt)
        if len(self.reference) < self.window:
            self.reference.append(b)
        self.current.append(b)
        score = self.score()
        if self.gauge is not None:
            self.gauge.set(score)
        return score

    def score(self) -> float:
        if len(self.reference) < self.window:
            return 0.0
        return psi(self.reference, list(self.current))


DRIFT = DriftMonitor(DRIFT_SCORE)

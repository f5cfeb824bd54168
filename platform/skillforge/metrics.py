"""Prometheus metrics, in seconds, labelled by lab, queue, backend, status and view only:
never a user, submission or attempt id (an unbounded label is a memory leak in Prometheus).

Web processes serve /metrics (views.metrics): HTTP latency by view (the middleware
below) and, read from the database at scrape time so every process agrees, attempts
by status and queue and the GPU claims held. Worker processes record grading
duration, queue wait, terminations and pool size as they grade, and serve them on
SKILLFORGE_WORKER_METRICS_PORT (celery.py starts that server when the port is set).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HTTP_LATENCY = Histogram(
    "skillforge_http_request_duration_seconds", "Time to answer an HTTP request, by view.",
    ["view", "method", "status"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRADING = Histogram(
    "skillforge_grading_duration_seconds", "Claim to stored grade, by lab and sandbox backend.",
    ["lab", "backend"], buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300),
)
QUEUE_WAIT = Histogram(
    "skillforge_queue_wait_seconds", "Submitted to claimed by a worker, by queue.",
    ["queue"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900),
)
GRADES = Counter("skillforge_grades_total", "Attempts finished by a worker, by lab and outcome.", ["lab", "outcome"])
TERMINATIONS = Counter("skillforge_sandbox_terminations_total", "How sandbox runs ended.", ["reason"])
POOL_READY = Gauge("skillforge_sandbox_pool_ready", "Pre-warmed Docker sandboxes ready in this worker.")


def record_grade(*, lab: str, queue: str, backend: str, outcome: str, termination: str | None,
                 grading_seconds: float, waited_seconds: float | None) -> None:
    """One finished attempt, called by the worker that graded it."""
    GRADES.labels(lab, outcome).inc()
    GRADING.labels(lab, backend).observe(grading_seconds)
    if waited_seconds is not None:
        QUEUE_WAIT.labels(queue).observe(max(0.0, waited_seconds))
    if termination:
        TERMINATIONS.labels(termination).inc()


class DatabaseCollector(Collector):
    """Attempts by status and queue, and GPU claims held: counted at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django.db.models import Count
        from django.utils import timezone

        from submissions.models import Attempt, GpuClaim

        attempts = GaugeMetricFamily("skillforge_attempts", "Attempts by status and queue.", labels=["status", "queue"])
        rows = Attempt.objects.order_by().values("status", "queue").annotate(n=Count("id"))
        for row in rows:
            attempts.add_metric([row["status"], row["queue"]], row["n"])
        yield attempts
        claims = GaugeMetricFamily("skillforge_gpu_claims", "GPU devices held by a grading job now.")
        claims.add_metric([], GpuClaim.objects.filter(expires_at__gte=timezone.now()).count())
        yield claims


_collector_registered = False


def register_database_collector() -> None:
    global _collector_registered
    if not _collector_registered:
        REGISTRY.register(DatabaseCollector())
        _collector_registered = True


class MetricsMiddleware:
    """HTTP latency by the view's route name (never the raw path: ids would blow up labels)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route) if match else "unmatched"
        HTTP_LATENCY.labels(view, request.method or "", f"{response.status_code // 100}xx").observe(
            time.perf_counter() - started)
        return response


def scrape(registry: Any = REGISTRY) -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry), CONTENT_TYPE_LATEST

"""Operations endpoints: /metrics (Prometheus) and /healthz (database, broker, sandbox).

/metrics answers a request that carries `Authorization: Bearer $SKILLFORGE_METRICS_TOKEN`
when that setting is set, and otherwise only requests from loopback (a Prometheus next
to the web process, or behind the same ingress on a private port): grading counts per
lab are not for the public internet.
"""

from __future__ import annotations

import hmac
import json
import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import metrics

LOOPBACK = ("127.0.0.1", "::1")


def _allowed(request: HttpRequest) -> bool:
    token = settings.SKILLFORGE_METRICS_TOKEN
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(sent.encode(), token.encode())
    return request.META.get("REMOTE_ADDR") in LOOPBACK


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse("Metrics need the metrics token (SKILLFORGE_METRICS_TOKEN).\n", status=403,
                            content_type="text/plain")
    metrics.register_database_collector()
    body, content_type = metrics.scrape()
    return HttpResponse(body, content_type=content_type)


def _check(fn) -> dict[str, object]:
    started = time.perf_counter()
    try:
        detail = fn()
        ok = True
    except Exception as exc:  # a health check reports every failure, it never raises
        ok, detail = False, f"{type(exc).__name__}: {str(exc)[:200]}"
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    from skillforge.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return conn.transport_cls if isinstance(conn.transport_cls, str) else type(conn.transport).__name__


def _sandbox() -> str:
    import sandbox

    name, _ = sandbox.backend(settings.SKILLFORGE_SANDBOX)
    return name


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database, the broker and a sandbox backend answer; 503 naming what does not."""
    checks = {"database": _check(_database), "broker": _check(_broker), "sandbox": _check(_sandbox)}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "failing", "checks": checks}, status=200 if healthy else 503,
                        json_dumps_params={"sort_keys": True})


class JsonFormatter:
    """logging formatter for SKILLFORGE_LOG_FORMAT=json: one JSON object per line, with the
    attempt id as its own field wherever the log call passed extra={"attempt_id": …}."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        import logging

        self._base = logging.Formatter()

    def format(self, record) -> str:  # type: ignore[no-untyped-def]
        doc = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("attempt_id", "lab", "queue"):
            if hasattr(record, key):
                doc[key] = getattr(record, key)
        if record.exc_info:
            doc["exc"] = self._base.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)

"""Web security in one place: response headers (CSP and friends), abuse limits, the request size cap.

* SecurityHeadersMiddleware: a Content-Security-Policy that allows this site's own static
  scripts and styles and forbids inline script (no 'unsafe-inline', no 'unsafe-eval' in
  script-src), plus Permissions-Policy and Cross-Origin-Resource-Policy. A view can widen a
  directive with @csp_update(...) (an LTI launch that an LMS frames, say); none can allow
  inline script.
* RequestSizeMiddleware: a request whose Content-Length is over SKILLFORGE_MAX_REQUEST_BYTES
  is answered 413 before anything reads its body (Django would otherwise stream a large
  multipart upload to disk before a view could look at its size).
* RateLimitMiddleware: per-IP and per-account limits on log in, sign-up and every API call,
  each a 429 with Retry-After and a sentence that says when to try again. Submitting is
  limited in the submit views themselves (check_submit), after the learner's typed text is
  kept as a draft, together with the cap on queued attempts.

Counters live in Django's "ratelimit" cache (Redis when REDIS_URL is set, so all web
processes share them; local memory otherwise) as fixed windows: one key per scope, identity
and window, INCR'ed atomically. We write this by hand rather than add django-ratelimit
because we need the window's end for Retry-After, two identities per rule, and the same
check callable from a view after it has saved the learner's draft.

Django 5.2 has no built-in CSP (6.0 will); the policy here is one static header, a few
lines, so no django-csp either.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

log = logging.getLogger("skillforge.security")

# --- Content-Security-Policy ------------------------------------------------------------------------------

CSP: dict[str, str] = {
    "default-src": "'self'",
    # Our own files only: htmx, site.js, the editor bundle, Swagger UI's bundle. No inline
    # script, no eval (htmx's hx-on and js: values are therefore off; we use neither).
    "script-src": "'self'",
    # CodeMirror and Swagger UI inject <style> elements and style="" attributes at run time.
    # Inline style cannot run code; it is allowed so the editor renders.
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
# Directives a view may never relax: they are what stops injected script.
LOCKED = {"script-src", "object-src", "base-uri"}


def csp_header(extra: dict[str, str] | None = None) -> str:
    policy = dict(CSP)
    policy.update(getattr(settings, "SKILLFORGE_CSP_EXTRA", {}) or {})
    for name, value in (extra or {}).items():
        if name in LOCKED:
            raise ValueError(f"CSP {name} cannot be changed per view")
        policy[name] = value
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def csp_update(**directives: str) -> Callable:
    """@csp_update(frame_ancestors="https://lms.example.edu"): replace directives for one view."""
    changes = {name.replace("_", "-"): value for name, value in directives.items()}
    csp_header(changes)  # refuse a locked directive at import time, not on the first request

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response.csp_update = changes  # type: ignore[attr-defined]
            return response

        return wrapped

    return decorate


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        extra = dict(getattr(response, "csp_update", {}) or {})
        drop = set()
        if getattr(response, "xframe_options_exempt", False) and "frame-ancestors" not in extra:
            # A view that opted out of X-Frame-Options (an LTI launch, framed by the LMS) may be framed by the
            # origins SKILLFORGE_FRAME_ANCESTORS names, or by any site when it names none (as Django's exemption).
            origins = " ".join(getattr(settings, "SKILLFORGE_FRAME_ANCESTORS", []))
            if origins:
                extra["frame-ancestors"] = origins
            else:
                drop.add("frame-ancestors")
        header = "; ".join(part for part in csp_header(extra).split("; ") if part.split(" ", 1)[0] not in drop)
        response.headers.setdefault("Content-Security-Policy", header)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-site")
        return response


# --- the request size cap ---------------------------------------------------------------------------------


class RequestSizeMiddleware:
    """413 for a declared body over the cap, before CSRF or a view reads a byte of it.

    Without a Content-Length (chunked) Django's WSGI request reads no body at all, so the
    declared length is the one that matters."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cap = settings.SKILLFORGE_MAX_REQUEST_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > cap:
            message = (f"The request is {length:,} bytes; the most this site accepts is {cap:,} bytes "
                       f"({cap // (1024 * 1024)} MiB). Send a smaller zip.")
            response = refusal_response(request, 413, message)
            response["Connection"] = "close"  # do not read the rest of the body to keep the connection
            return response
        return self.get_response(request)


# --- rate limits -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    retry_after: int


def limits() -> dict[str, dict[str, Limit]]:
    """SKILLFORGE_RATE_LIMITS as {scope: {"ip"|"user": Limit}}."""
    return {scope: {who: Limit(*pair) for who, pair in rules.items()}
            for scope, rules in settings.SKILLFORGE_RATE_LIMITS.items()}


def _cache() -> Any:
    return caches["ratelimit"]


def client_ip(request: HttpRequest) -> str:
    """The client's address; a whole IPv6 /64 counts as one client (one host gets a /64)."""
    header = getattr(settings, "SKILLFORGE_CLIENT_IP_HEADER", "")
    raw = ""
    if header:
        raw = request.META.get(header, "").split(",")[0].strip()
    raw = raw or request.META.get("REMOTE_ADDR", "") or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def hit(scope: str, who: str, ident: str, limit: Limit, *, now: float | None = None) -> int:
    """Count one request; 0 when within the limit, else the seconds until its window ends."""
    return hits(scope, [(who, ident, limit)], now=now)[0]


def hits(scope: str, counters: list[tuple[str, str, Limit]], *, now: float | None = None) -> list[int]:
    """Count one request on each (who, ident, limit) of a scope: 0 each within its limit, else
    the seconds until its window ends. On Redis all of them cost one round trip."""
    now = time.time() if now is None else now
    prefix = getattr(settings, "SKILLFORGE_RATE_LIMIT_PREFIX", "")
    keys = []
    for who, ident, limit in counters:
        digest = hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()[:24]  # no raw IPs or names in keys
        keys.append((f"rl:{prefix}{scope}:{who}:{digest}:{int(now // limit.seconds)}", limit.seconds + 1))
    try:
        counts = _increment(keys)
    except Exception:  # the cache (Redis) is down: serve rather than fail every request; say so loudly
        log.warning("rate limit %s not counted: the ratelimit cache is unavailable", scope, exc_info=True)
        return [0] * len(counters)
    return [0 if count <= limit.count else max(1, math.ceil((int(now // limit.seconds) + 1) * limit.seconds - now))
            for count, (_, _, limit) in zip(counts, counters, strict=True)]


def _increment(keys: list[tuple[str, int]]) -> list[int]:
    """INCR each key, creating it with its time to live: one pipelined round trip on Redis,
    add + incr per key on another cache (the per-process LocMemCache of the embedded setup)."""
    cache = _cache()
    client = getattr(getattr(cache, "_cache", None), "get_client", None)  # Django's RedisCache
    if client is not None:
        pipe = client(write=True).pipeline(transaction=False)
        for key, ttl in keys:
            full = cache.make_and_validate_key(key)
            pipe.set(full, 0, ex=ttl, nx=True)
            pipe.incr(full)
        return [int(n) for n in pipe.execute()[1::2]]
    counts = []
    for key, ttl in keys:
        cache.add(key, 0, ttl)
        try:
            counts.append(cache.incr(key))
        except ValueError:  # expired between add and incr
            cache.add(key, 1, ttl)
            counts.append(1)
    return counts


def check(scope: str, *, ip: str | None = None, user: str | None = None) -> Refusal | None:
    """Count a request against the scope's per-IP and per-account limits; a Refusal when over one."""
    rules = limits().get(scope, {})
    counters = [(who, ident, rules[who]) for who, ident in (("ip", ip), ("user", user)) if ident and who in rules]
    waits = [(wait, who) for wait, (who, _, _) in zip(hits(scope, counters), counters, strict=True) if wait]
    if not waits:
        return None
    wait, who = max(waits)
    return Refusal(429, _too_many(scope, who, wait), wait)


SCOPE_WORDS = {
    "login": "login attempts",
    "signup": "sign-ups",
    "submit": "submissions",
    "api": "API requests",
    "export": "data exports",
}


def _too_many(scope: str, who: str, wait: int) -> str:
    source = "from your network" if who == "ip" else "for this account"
    return (f"Too many {SCOPE_WORDS.get(scope, 'requests')} {source}. "
            f"Please wait {_duration(wait)} and try again.")


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def refusal_response(request: HttpRequest, status: int, message: str, retry_after: int | None = None) -> HttpResponse:
    if wants_json(request):
        response: HttpResponse = JsonResponse({"detail": message}, status=status)
    else:
        html = render_to_string("privacy/refused.html", {"status": status, "message": message}, request=request)
        response = HttpResponse(html, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def refused(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    return refusal_response(request, refusal.status, refusal.message, refusal.retry_after)


def _bearer(request: HttpRequest) -> str:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else ""


def account_key(request: HttpRequest) -> str | None:
    """Who is asking, without a database query: the session's user, or the bearer token itself."""
    token = _bearer(request)
    if token:
        return "token:" + token
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


class RateLimitMiddleware:
    """Log in and sign-up (POST) and every API call, before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> HttpResponse | None:
        match = request.resolver_match
        if match is None:
            return None
        ip = client_ip(request)
        refusal = None
        if match.view_name == "login" and request.method == "POST":
            username = request.POST.get("username", "")[:150].strip().lower()
            refusal = check("login", ip=ip, user=("name:" + username) if username else None)
        elif match.view_name == "signup" and request.method == "POST":
            refusal = check("signup", ip=ip)
        elif match.namespace == "api" or match.view_name.startswith("api:"):
            refusal = check("api", ip=ip, user=account_key(request))
        return refused(request, refusal) if refusal else None


# --- submitting: a rate and a cap on attempts waiting to be graded ------------------------------------------


def queued_attempts(user: Any) -> int:
    from submissions.models import Attempt

    return Attempt.objects.filter(submission__learner=user, status__in=["queued", "running"]).count()


def check_submit(request: HttpRequest, user: Any) -> Refusal | None:
    """Called by the submit views (web and API) just before submissions.services.submit."""
    cap = settings.SKILLFORGE_MAX_QUEUED_ATTEMPTS
    if cap and queued_attempts(user) >= cap:
        return Refusal(429, f"You already have {cap} submission{'s' if cap != 1 else ''} waiting to be graded. "
                            "Wait for one to finish, then submit again.", 30)
    return check("submit", ip=client_ip(request), user=f"user:{user.pk}")


# --- signed ids in URLs ---------------------------------------------------------------------------------


class SignedIdConverter:
    """<sid:name>: an integer primary key in a URL as "42.<signature>", so rows with sequential ids
    (attempts, API tokens) cannot be walked by counting. The view still receives the int; reverse()
    and {% url %} sign it; a missing or wrong signature is a 404 before the view runs."""

    regex = r"[0-9]+\.[A-Za-z0-9_-]{10,64}"

    @staticmethod
    def _signer() -> Any:
        from django.core.signing import Signer

        return Signer(salt="skillforge.sid", sep=".")

    def to_python(self, value: str) -> int:
        from django.core.signing import BadSignature

        try:
            return int(self._signer().unsign(value))
        except (BadSignature, ValueError):
            raise ValueError("bad signed id") from None

    def to_url(self, value: Any) -> str:
        return self._signer().sign(str(int(value)))


def register_converters() -> None:
    from django.urls import register_converter

    register_converter(SignedIdConverter, "sid")


# --- the OpenAPI schema says so ----------------------------------------------------------------------------

TOO_MANY = {
    "description": "Too many requests: wait the number of seconds in Retry-After.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    "content": {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}},
                                                "required": ["detail"]}}},
}
TOO_LARGE = {
    "description": "The request body is over the site's size cap.",
    "content": TOO_MANY["content"],
}


INVALID = {
    "description": "A parameter or body failed validation (django-ninja's answer): each problem with where it is.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail"],
        "properties": {"detail": {"type": "array", "items": {"type": "object"}}},
    }}},
}


def document_limits(schema: dict[str, Any]) -> dict[str, Any]:
    """Say what every operation may also answer: 429 (rate limits); 413 (the size cap) where it takes a
    body; 422 (django-ninja's validation error) where it takes parameters or a body."""
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            responses.setdefault(429, json.loads(json.dumps(TOO_MANY)))
            if method in ("post", "put", "patch"):
                responses.setdefault(413, json.loads(json.dumps(TOO_LARGE)))
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault(422, json.loads(json.dumps(INVALID)))
    return schema

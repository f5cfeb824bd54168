"""CSRF on every state-changing route, secure cookies and HSTS in production, the response
headers, `check --deploy` with production settings, and secrets only from the environment
or files outside the repository."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from test_credentials_support import fixture_key_dir  # noqa: F401 - fixture, requested by name
from test_security_support import (  # noqa: F401 - fixtures, requested by name
    OUTSIDE_ADDR,
    fixture_world,
    fixture_world_module,
    resolver_routes,
    route_params,
)

pytestmark = [pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
PROD_KEY = secrets.token_urlsafe(60)

# Routes that take a POST without Django's CSRF token, and why that is safe.
CSRF_EXEMPT = {
    "api/": "django-ninja: bearer tokens need no CSRF (no ambient credential); session auth checks CSRF itself",
    "lti/": "LTI 1.3 launches are cross-site POSTs by design, authenticated by the platform's signed id_token",
}


def _exempt(route: str) -> bool:
    return any(route.startswith(prefix) for prefix in CSRF_EXEMPT)


def test_every_post_without_a_csrf_token_is_refused(world):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=OUTSIDE_ADDR)
    client.force_login(world.users["staff"])  # staff may reach every view: the refusal must be CSRF's
    samples = world.samples()
    checked = 0
    for route, name in resolver_routes():
        if _exempt(route) or route.startswith("admin/") and route != "admin/":
            continue
        params = route_params(route)
        url = reverse(name, kwargs={p: samples[p] for p in params}) if name else "/" + route
        response = client.post(url, {"x": "1"})
        assert response.status_code == 403 and "CSRF" in response.content.decode(), f"POST {url}: {response.status_code}"
        checked += 1
    assert checked > 40


def test_the_api_with_a_session_checks_csrf_and_with_a_token_needs_none(world):
    url = "/api/labs/tiny-answer/submissions"
    session = Client(enforce_csrf_checks=True, REMOTE_ADDR=OUTSIDE_ADDR)
    session.force_login(world.users["learner"])
    assert session.post(url, {}).status_code == 403
    bearer = Client(enforce_csrf_checks=True, REMOTE_ADDR=OUTSIDE_ADDR,
                    HTTP_AUTHORIZATION=f"Bearer {world.tokens['learner']}")
    assert bearer.post(url, {}).status_code == 400  # served: a recorded rejection, "send your zip"


def test_htmx_requests_carry_the_token_from_the_page(world):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=OUTSIDE_ADDR)
    client.force_login(world.users["learner"])
    page = client.get("/dashboard/").content.decode()
    token = re.search(r"""<body hx-headers='\{"X-CSRFToken": "([A-Za-z0-9]+)"\}'>""", page).group(1)
    url = reverse("save_draft", args=[world.lab.slug])
    assert client.post(url, {"file_0": "x = 1\n"}, HTTP_ACCEPT="application/json").status_code == 403
    response = client.post(url, {"file_0": "x = 1\n"}, HTTP_ACCEPT="application/json", HTTP_X_CSRFTOKEN=token,
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "hx-headers" not in Client().get("/").content.decode()  # public pages carry nothing of a session


def test_every_response_has_the_security_headers(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "Content-Security-Policy" in client.get("/api/labs").headers  # the API and errors too
    assert "Content-Security-Policy" in client.get("/no-such-page/").headers


def test_only_an_exempt_view_may_be_framed(settings, rf):
    from django.http import HttpResponse
    from django.views.decorators.clickjacking import xframe_options_exempt

    from skillforge.security import SecurityHeadersMiddleware

    view = xframe_options_exempt(lambda request: HttpResponse("launch"))
    settings.SKILLFORGE_FRAME_ANCESTORS = []
    assert "frame-ancestors" not in SecurityHeadersMiddleware(view)(rf.get("/lti/launch"))["Content-Security-Policy"]
    settings.SKILLFORGE_FRAME_ANCESTORS = ["https://lms.example.edu"]
    response = SecurityHeadersMiddleware(view)(rf.get("/lti/launch"))
    assert "frame-ancestors https://lms.example.edu" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    framed = SecurityHeadersMiddleware(lambda request: HttpResponse("page"))(rf.get("/"))
    assert "frame-ancestors 'none'" in framed["Content-Security-Policy"]


# --- production settings, in a fresh process ---------------------------------------------------------------


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "SECRET_KEY", "DEBUG", "SKILLFORGE_KEY_DIR"}}
    return subprocess.run([sys.executable, str(REPO / "manage.py"), *args], cwd=REPO, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(name="production")
def fixture_production(tmp_path) -> dict[str, str]:
    secret = tmp_path / "secrets" / "secret_key"
    secret.parent.mkdir()
    secret.write_text(PROD_KEY + "\n")
    return {"DEBUG": "0", "SECRET_KEY_FILE": str(secret), "ALLOWED_HOSTS": "skillforge.example.org",
            "SKILLFORGE_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/11"}


def test_check_deploy_passes_with_production_settings(production):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_cookies_and_hsts(production):
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_HTTPONLY, "
            "s.SECRET_KEY == open(__import__('os').environ['SECRET_KEY_FILE']).read().strip(), "
            "type(__import__('django.core.cache', fromlist=['caches']).caches['ratelimit']).__name__)")
    result = manage("shell", "-v", "0", "-c", code, env=production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True", "True", "True", "RedisCache"]


@pytest.mark.parametrize("change,problem", [
    ({"SECRET_KEY_FILE": "", "SECRET_KEY": "django-insecure-skillforge-dev-only-never-use-this-key-in-production"},
     "SECRET_KEY: must be at least 50"),
    ({"SECRET_KEY_FILE": "", "SECRET_KEY": "django-insecure-" + "x" * 60}, "SECRET_KEY: must be at least 50"),
    ({"SECRET_KEY_FILE": ""}, "SECRET_KEY: is required"),
    ({"SECRET_KEY_FILE": str(REPO / "README.md")}, "SECRET_KEY_FILE: points inside the repository"),
    ({"SECRET_KEY": PROD_KEY + "-another"}, "SECRET_KEY_FILE: is set together with SECRET_KEY"),
    ({"DATABASE_URL_FILE": str(REPO / "pyproject.toml")}, "DATABASE_URL_FILE: points inside the repository"),
    ({"SKILLFORGE_DATA_DIR": str(REPO / "var")}, "SKILLFORGE_KEY_DIR: is inside the repository"),
])
def test_production_refuses_to_start_with_a_default_or_committed_secret(production, change, problem):
    env = {**production, **change}
    env = {k: v for k, v in env.items() if v != ""}
    result = manage("check", env=env)
    assert result.returncode != 0 and problem in result.stderr, result.stderr[-2000:]


def test_secrets_can_come_from_files_outside_the_checkout(production, tmp_path):
    db_file = tmp_path / "secrets" / "database_url"
    db_file.write_text(production.pop("DATABASE_URL"))
    result = manage("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
                    env={**production, "DATABASE_URL_FILE": str(db_file)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()

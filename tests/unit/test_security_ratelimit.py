"""Abuse limits: log in, sign-up, submit and the API answer 429 with Retry-After and a clear
sentence once over their per-IP or per-account limit; a learner's queued attempts are
capped; a body over the size cap is refused before it is read.

The counters are real: Django's cache on Redis when REDIS_URL is set (CI), local memory
otherwise; each test counts under its own key prefix (tests/conftest.py).
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.cache import caches
from django.test import Client
from test_site_support import (  # noqa: F401 - fixtures, requested by name
    PASSWORD,
    fixture_ada,
    fixture_data_dir,
    fixture_grace,
    fixture_tiny_lab,
    token_client,
)

from skillforge import security

pytestmark = [pytest.mark.django_db]


@pytest.fixture(name="tight")
def fixture_tight(settings):
    """Small limits, so a test reaches them in a few requests."""
    settings.SKILLFORGE_RATE_LIMITS = {
        "login": {"ip": (5, 300), "user": (3, 300)},
        "signup": {"ip": (2, 3600)},
        "submit": {"ip": (50, 600), "user": (2, 600)},
        "api": {"ip": (50, 60), "user": (4, 60)},
        "export": {"user": (1, 3600)},
    }
    return settings.SKILLFORGE_RATE_LIMITS


def test_the_cache_is_redis_when_redis_url_is_set(settings):
    import os

    backend = type(caches["ratelimit"]).__name__
    assert backend == ("RedisCache" if os.environ.get("REDIS_URL") else "LocMemCache")


def assert_429(response, words: str) -> int:
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 3600
    text = response.content.decode()
    assert words in text and "try again" in text
    return wait


def test_login_is_limited_per_name_then_per_ip(tight, ada):
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(3):
        assert client.post("/accounts/login/", {"username": "ada", "password": "wrong"}).status_code == 200
    wait = assert_429(client.post("/accounts/login/", {"username": "ADA", "password": PASSWORD}),
                      "Too many login attempts for this account")
    assert wait <= 300
    # Other names from the same address still get through, up to the address's own limit.
    assert client.post("/accounts/login/", {"username": "someone", "password": "x"}).status_code == 200
    assert_429(client.post("/accounts/login/", {"username": "else", "password": "x"}), "from your network")
    # Another address is not affected by this one's count (but ada's name still is).
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert other.post("/accounts/login/", {"username": "grace", "password": "x"}).status_code == 200
    assert other.get("/accounts/login/").status_code == 200  # showing the form is never limited


def test_sign_up_is_limited_per_ip(tight):
    client = Client(REMOTE_ADDR="198.51.100.9")
    for i in range(2):
        client.post("/accounts/signup/", {"username": f"new{i}", "password1": PASSWORD, "password2": PASSWORD})
        client.post("/accounts/logout/")
    page = client.post("/accounts/signup/", {"username": "new9", "password1": PASSWORD, "password2": PASSWORD})
    assert_429(page, "Too many sign-ups from your network")
    assert "<h1>Too many requests</h1>" in page.content.decode()


def test_the_api_is_limited_per_token_with_a_json_answer(tight, ada):
    api = token_client(ada)
    for _ in range(4):
        assert api.get("/api/submissions").status_code == 200
    response = api.get("/api/submissions")
    assert_429(response, "Too many API requests for this account")
    assert response.json()["detail"].startswith("Too many API requests")
    # A garbage token per request does not escape the per-IP limit.
    for i in range(60):
        last = Client(HTTP_AUTHORIZATION=f"Bearer sf_{i}").get("/api/labs")
    assert last.status_code == 429


def test_ipv6_clients_count_per_64():
    from django.test import RequestFactory

    one = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2::1")
    two = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert security.client_ip(one) == security.client_ip(two) == "2001:db8:1:2::/64"


def test_the_window_ends_when_retry_after_says():
    limit = security.Limit(2, 60)
    assert security.hit("t", "ip", "x", limit, now=1200.0) == 0
    assert security.hit("t", "ip", "x", limit, now=1210.0) == 0
    assert security.hit("t", "ip", "x", limit, now=1215.5) == 45  # the window is [1200, 1260)
    assert security.hit("t", "ip", "x", limit, now=1260.0) == 0  # the next window


def submit_json(client, files=None):
    return client.post("/api/labs/tiny-answer/submissions", data=json.dumps({"files": files or {"main.py": "print(42)"}}),
                       content_type="application/json")


def test_submissions_are_limited_per_learner(tight, ada, tiny_lab, settings, django_capture_on_commit_callbacks):
    settings.SKILLFORGE_MAX_QUEUED_ATTEMPTS = 0  # off here: this test is about the rate
    settings.SKILLFORGE_RATE_LIMITS["api"] = {"user": (100, 60)}
    api = token_client(ada)
    with django_capture_on_commit_callbacks(execute=False):
        assert submit_json(api).status_code == 201
        assert submit_json(api).status_code == 201
        assert_429(submit_json(api), "Too many submissions for this account")
    from submissions.models import Submission

    assert Submission.objects.count() == 2  # the refused one was not recorded


def test_queued_attempts_are_capped_and_the_web_keeps_the_draft(ada, tiny_lab, settings,
                                                                 django_capture_on_commit_callbacks):
    settings.SKILLFORGE_MAX_QUEUED_ATTEMPTS = 2
    api = token_client(ada)
    with django_capture_on_commit_callbacks(execute=False):  # no worker: they stay queued
        assert submit_json(api).status_code == 201
        assert submit_json(api).status_code == 201
        response = submit_json(api)
        assert response.status_code == 429 and response["Retry-After"] == "30"
        assert response.json()["detail"] == ("You already have 2 submissions waiting to be graded. "
                                             "Wait for one to finish, then submit again.")
        web = Client()
        web.force_login(ada)
        page = web.post("/labs/tiny-answer/submit/", {"file_0": "print('kept')\n", "action": "submit"})
        assert page.status_code == 429 and "waiting to be graded" in page.content.decode()
    from learning.models import Draft

    assert Draft.objects.get(learner=ada).files == {"main.py": "print('kept')\n"}  # nothing typed is lost
    # Once one is graded, there is room again.
    from django.utils import timezone

    from submissions.models import Attempt

    first = Attempt.objects.filter(submission__learner=ada).order_by("queued_at").first()
    Attempt.objects.filter(pk=first.pk).update(status="error", message="x", finished_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=False):
        assert submit_json(api).status_code == 201


def test_an_oversized_body_is_refused_before_it_is_read(ada, tiny_lab, settings):
    settings.SKILLFORGE_MAX_REQUEST_BYTES = 64 * 1024
    api = token_client(ada)
    big = io.BytesIO(b"x" * (65 * 1024))
    big.name = "work.zip"
    response = api.post("/api/labs/tiny-answer/submissions", {"zip": big})
    assert response.status_code == 413
    assert "the most this site accepts is 65,536 bytes" in response.json()["detail"]
    from submissions.models import Submission

    assert not Submission.objects.exists()


def test_the_cap_does_not_read_the_body(settings):
    """The middleware answers from the declared length alone: the stream is never touched."""
    from django.test import RequestFactory

    settings.SKILLFORGE_MAX_REQUEST_BYTES = 64 * 1024

    class Exploding(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    request = RequestFactory().post("/api/labs/x/submissions", data=b"", content_type="application/zip")
    request.META["CONTENT_LENGTH"] = str(10 * 1024 * 1024 * 1024)
    request._stream = Exploding()
    response = security.RequestSizeMiddleware(lambda r: pytest.fail("reached the view"))(request)
    assert response.status_code == 413 and response["Connection"] == "close"


def test_export_is_limited(tight, ada):
    web = Client()
    web.force_login(ada)
    assert web.get("/accounts/data/export.json").status_code == 200
    assert_429(web.get("/accounts/data/export.json"), "Too many data exports for this account")


def test_a_dead_cache_lets_requests_through_and_says_so(settings, caplog):
    settings.CACHES = {**settings.CACHES, "ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                                       "LOCATION": "redis://127.0.0.1:1/0"}}
    assert security.hit("login", "ip", "x", security.Limit(1, 60)) == 0
    assert security.hit("login", "ip", "x", security.Limit(1, 60)) == 0
    assert "ratelimit cache is unavailable" in caplog.text


def test_limits_come_from_the_environment_and_fail_loudly():
    from skillforge.env import EnvError, env_rate_limits

    default = {"login": {"ip": (30, 300)}, "api": {"user": (300, 60)}}
    assert env_rate_limits("L", default, environ={}) == default
    assert env_rate_limits("L", default, environ={"L": "off"}) == {}
    assert env_rate_limits("L", default, environ={"L": "api.user=1000/60, login.user=5/900"}) == {
        "login": {"ip": (30, 300), "user": (5, 900)}, "api": {"user": (1000, 60)}}
    for bad in ("api=1/60", "api.who=1/60", "api.user=1", "api.user=x/60", "api.user=1/0"):
        with pytest.raises(EnvError, match="L: items look like"):
            env_rate_limits("L", default, environ={"L": bad})

"""Shared fixtures: real backends and services, or a skip that says what is missing.

CI sets REQUIRE_DOCKER=1 and REQUIRE_SERVICES=1, which turn those skips into failures,
so a missing engine or server can never make a green run that tested nothing.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
LAB_IMAGE = "skillforge/lab-python"


def _missing(what: str, strict_var: str) -> None:
    if os.environ.get(strict_var) == "1":
        pytest.fail(f"{what} ({strict_var}=1 makes this a failure, not a skip)")
    pytest.skip(what)


def _image_built() -> bool:
    from sandbox import images

    try:
        images.rootfs(LAB_IMAGE)
        return True
    except images.ImageMissing:
        return False


@pytest.fixture(scope="session")
def bwrap_runner() -> Callable:
    from sandbox import bwrap_backend

    if not bwrap_backend.available():
        _missing("bubblewrap is not installed or we are not root", "REQUIRE_DOCKER")
    if not _image_built():
        pytest.fail("the lab image is not built: run python -m sandbox.images.build lab-python")
    return bwrap_backend.run


@pytest.fixture(scope="session")
def docker_runner() -> Callable:
    from sandbox import docker_backend

    if not docker_backend.available():
        _missing("no Docker engine answers", "REQUIRE_DOCKER")
    try:
        docker_backend.image_digest(LAB_IMAGE)
    except Exception:
        pytest.fail("the lab image is not in Docker: run python -m sandbox.images.build lab-python --docker")
    return docker_backend.run


@pytest.fixture(params=["bubblewrap", "docker"])
def runner(request: pytest.FixtureRequest) -> Callable:
    """Each test that takes `runner` runs once per backend."""
    return request.getfixturevalue(f"{'bwrap' if request.param == 'bubblewrap' else 'docker'}_runner")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not _reachable(url, 6379):
        _missing(f"Redis is not reachable at {url}", "REQUIRE_SERVICES")
    return url


@pytest.fixture(scope="session")
def require_postgres() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        _missing("DATABASE_URL does not point at PostgreSQL", "REQUIRE_SERVICES")
    if not _reachable(url, 5432):
        _missing(f"PostgreSQL is not reachable at {url}", "REQUIRE_SERVICES")


# Rate-limit counters (skillforge/security.py) live in Redis when REDIS_URL is set, and so
# outlive a test and a run: each run, and each test in it, counts under its own key prefix,
# so no test is throttled by another (servers a test starts inherit the run's prefix).
os.environ.setdefault("SKILLFORGE_RATE_LIMIT_PREFIX", f"run-{os.getpid()}-{os.urandom(4).hex()}:")


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(request: pytest.FixtureRequest):
    from django.conf import settings

    if not settings.configured:
        yield
        return
    before = getattr(settings, "SKILLFORGE_RATE_LIMIT_PREFIX", "")
    test = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]
    settings.SKILLFORGE_RATE_LIMIT_PREFIX = f"{os.environ['SKILLFORGE_RATE_LIMIT_PREFIX']}{test}:"
    yield
    settings.SKILLFORGE_RATE_LIMIT_PREFIX = before

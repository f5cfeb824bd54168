"""Shared fixtures and helpers for the site's tests.

A test module imports the fixtures it uses by their function names (fixture_ada) and
requests them by fixture name (ada), so the import is never shadowed by an argument.

Named users: ada and grace are learners, alan is an instructor. The tiny lab lives in
tests/integration/fixtures/labs/tiny-answer and grades in a fraction of a second.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from django.test import Client

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "integration" / "fixtures"
TINY_LABS = FIXTURES / "labs"
TINY_LAB = TINY_LABS / "tiny-answer"
TINY_WRONG = FIXTURES / "wrong"
SUBMISSIONS = FIXTURES / "submissions"
PASSWORD = "correct-horse-battery-staple"


# The live submission fragment asks for itself again (long-poll, submissions/live.py).
LIVE_TRIGGER = 'hx-trigger="load delay:'


def make_zip(entries: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buf.getvalue()


@pytest.fixture(name="data_dir")
def fixture_data_dir(tmp_path: Path, settings) -> Path:
    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    return settings.SKILLFORGE_DATA_DIR


@pytest.fixture(name="labs_copy")
def fixture_labs_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny labs folder, to change or break."""
    dest = tmp_path / "labs"
    shutil.copytree(TINY_LABS, dest)
    return dest


@pytest.fixture(name="tiny_lab")
def fixture_tiny_lab(db, data_dir):
    from catalog.models import Lab
    from catalog.services import import_labs

    import_labs(path=TINY_LABS)
    return Lab.objects.select_related("current_version").get(slug="tiny-answer")


def _account(username: str, role: str):
    from accounts.services import create_account

    return create_account(username=username, password=PASSWORD, email=f"{username}@example.org", role=role)


@pytest.fixture(name="ada")
def fixture_ada(db):
    return _account("ada", "learner")


@pytest.fixture(name="grace")
def fixture_grace(db):
    return _account("grace", "learner")


@pytest.fixture(name="alan")
def fixture_alan(db):
    return _account("alan", "instructor")


def token_client(user) -> Client:
    from accounts.services import issue_token

    _, raw = issue_token(user=user, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture(name="ada_api")
def fixture_ada_api(ada) -> Client:
    return token_client(ada)


@pytest.fixture(name="sandbox_name")
def fixture_sandbox_name(settings) -> str:
    """The first sandbox backend that works here, set for the site; skip (or fail in CI) if none."""
    import sandbox

    for name in ("bubblewrap", "docker"):
        try:
            sandbox.backend(name)
        except sandbox.SandboxUnavailable:
            continue
        settings.SKILLFORGE_SANDBOX = name
        return name
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail("no sandbox backend (REQUIRE_DOCKER=1 makes this a failure, not a skip)")
    pytest.skip("no sandbox backend here: bubblewrap as root, or a Docker engine")

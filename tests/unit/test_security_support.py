"""The world the security tests probe, and the authorization matrix read from docs/security.md.

One world per test module, committed to the test database (PostgreSQL in CI) so that
hundreds of requests share it; each test runs in a transaction that is rolled back and on
its own copy of the data folder, so a POST that deletes something leaves nothing behind
for the next one. The module's teardown flushes the database, as pytest-django does after
a transactional test.

The world: a lab owned by the instructor "mx-alan"; the learner "mx-ada" with a graded,
passed submission, its credential, an editor draft, an API token and a public portfolio;
"mx-grace", another learner with a submission to the same lab; "mx-barbara", an instructor
who owns nothing here; "mx-root", staff and superuser; alan's authoring draft of the lab,
a validation run and a re-grade job. ada's code, draft and email carry unique markers that
must never appear in an answer to anyone but those allowed.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

REPO = Path(__file__).resolve().parents[2]
SECURITY_MD = REPO / "docs" / "security.md"
TINY_LABS = REPO / "tests" / "integration" / "fixtures" / "labs"
ROLES = ("anonymous", "learner", "other learner", "lab instructor", "other instructor", "staff")
OUTSIDE_ADDR = "203.0.113.9"  # TEST-NET-3: a client on the internet, not loopback
MARKER = "<!-- authorization-matrix"


# --- the matrix ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    route: str
    name: str
    method: str
    allowed: dict[str, bool]

    @property
    def prefix(self) -> str | None:
        return self.route[:-1] if self.route.endswith("*") else None

    def covers(self, route: str) -> bool:
        return route == self.route or (self.prefix is not None and route.startswith(self.prefix))


def matrix() -> list[Row]:
    lines = SECURITY_MD.read_text().split(MARKER, 1)[1].splitlines()[1:]
    rows = []
    header = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    assert header[3:] == list(ROLES), f"matrix columns must be route, name, method, then {ROLES}: {header}"
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        route, name, method, *values = cells
        assert len(values) == len(ROLES), f"row {line!r} needs one cell per role"
        assert all(v in ("yes", "no") for v in values), f"row {line!r}: each cell is yes or no"
        assert method in ("GET", "POST"), f"row {line!r}: method GET or POST"
        rows.append(Row(route.strip("`"), "" if name == "—" else name, method,
                        dict(zip(ROLES, (v == "yes" for v in values), strict=True))))
    return rows


def resolver_routes() -> list[tuple[str, str]]:
    """(route, view name) for every URL pattern, includes flattened."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns: list[Any], prefix: str, namespace: str):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = namespace + (f"{p.namespace}:" if p.namespace else "")
                yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), (namespace + p.name) if p.name else ""

    return list(walk(get_resolver().url_patterns, "", ""))


def route_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


# --- the world ----------------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, Any]
    lab: Any
    version: Any
    submission: Any
    attempt: Any
    credential: Any
    token_id: int
    tokens: dict[str, str]
    other_submission: Any
    draft: Any
    run: Any
    job: Any
    handle: str
    pristine: Path
    markers: list[str] = field(default_factory=list)

    def samples(self) -> dict[str, Any]:
        """A value for each URL parameter name the site uses (a new name must be added here)."""
        return {
            "slug": self.lab.slug, "submission_id": self.submission.id, "credential_id": self.credential.id,
            "hexdigest": self.version.content_hash.removeprefix("sha256:"), "handle": self.handle, "tag": "test",
            "draft_id": self.draft.id, "area": "lab", "path": "brief.md", "run_id": self.run.pk, "table": "summary",
            "a": self.submission.id, "b": self.other_submission.id, "job_id": self.job.pk,
            "attempt_id": self.attempt.pk, "token_id": self.token_id,
            "registration_uuid": "6f1d3c52-0d5e-4d43-9d0e-3f6a2b1c0a99",  # no such LMS registration
        }

    def client(self, role: str, *, api: bool = False) -> Client:
        client = Client(REMOTE_ADDR=OUTSIDE_ADDR)
        user = self.users.get(role)
        if user is None:
            return client
        if api:
            return Client(REMOTE_ADDR=OUTSIDE_ADDR, HTTP_AUTHORIZATION=f"Bearer {self.tokens[role]}")
        client.force_login(user)
        return client


def _build(data: Path) -> World:
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from test_credentials_support import graded_attempt

    from accounts.services import create_account, issue_token
    from authoring import services as authoring
    from authoring.models import RegradeJob, ValidationRun
    from catalog.models import Lab
    from catalog.services import import_labs
    from credentials.services import issue_for_attempt
    from learning.models import Draft
    from portfolios.models import Portfolio
    from submissions import services as submissions

    tag = secrets.token_hex(6)
    code_marker, draft_marker, email = f"CODE-MARKER-{tag}", f"DRAFT-MARKER-{tag}", f"ada-{tag}@example.org"

    def account(name: str, role: str, email: str = "") -> Any:
        return create_account(username=name, password=secrets.token_urlsafe(16), email=email or f"{name}@example.org",
                              role=role)

    users = {
        "learner": account("mx-ada", "learner", email),
        "other learner": account("mx-grace", "learner"),
        "lab instructor": account("mx-alan", "instructor"),
        "other instructor": account("mx-barbara", "instructor"),
        "staff": account("mx-root", "learner"),
    }
    get_user_model().objects.filter(pk=users["staff"].pk).update(is_staff=True, is_superuser=True)
    users["staff"].refresh_from_db()
    import_labs(path=TINY_LABS)
    lab = Lab.objects.select_related("current_version").get(slug="tiny-answer")
    Lab.objects.filter(pk=lab.pk).update(owner=users["lab instructor"])
    lab.refresh_from_db()
    attempt = graded_attempt(users["learner"], lab, files={"main.py": f"print(42)  # {code_marker}\n"})
    credential = issue_for_attempt(attempt=attempt)
    other = submissions.submit(learner=users["other learner"], lab=lab, intake=submissions.Intake(
        source="api_files", files={"main.py": "print(41)\n"}))
    Draft.objects.create(learner=users["learner"], lab=lab, lab_version=lab.current_version,
                         files={"main.py": f"# {draft_marker}\n"}, size=30)
    handle = f"ada-{tag}"
    Portfolio.objects.create(user=users["learner"], handle=handle, public=True, display_name="Ada")
    token, _ = issue_token(user=users["learner"], name="laptop")
    tokens = {role: issue_token(user=user, name="matrix")[1] for role, user in users.items()}
    draft = authoring.draft_for_lab(user=users["lab instructor"], lab=lab)
    lab_hash, wrong_hash = authoring.draft_hashes(draft)
    run = ValidationRun.objects.create(draft=draft, requested_by=users["lab instructor"], lab_hash=lab_hash,
                                       wrong_hash=wrong_hash, status="passed", started_at=timezone.now(),
                                       finished_at=timezone.now())
    job = RegradeJob.objects.create(lab=lab, target=lab.current_version, requested_by=users["lab instructor"])
    return World(users=users, lab=lab, version=lab.current_version, submission=attempt.submission, attempt=attempt,
                 credential=credential, token_id=token.pk, tokens=tokens, other_submission=other, draft=draft,
                 run=run, job=job, handle=handle, pristine=data, markers=[code_marker, draft_marker, email])


def _fresh_copy(world: World, dest: Path) -> Path:
    shutil.copytree(world.pristine, dest, symlinks=True)
    return dest


@pytest.fixture(scope="module", name="world_module")
def fixture_world_module(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.core.management import call_command
    from django.test.utils import override_settings

    data = tmp_path_factory.mktemp("security-world") / "data"
    settings_override = override_settings(SKILLFORGE_DATA_DIR=data, SKILLFORGE_KEY_DIR=data / "keys",
                                          SKILLFORGE_PUBLIC_URL="https://skillforge.test",
                                          SKILLFORGE_CREDENTIAL_VALID_DAYS=0, CELERY_TASK_ALWAYS_EAGER=False)
    settings_override.enable()
    try:
        with django_db_blocker.unblock():
            from django.db import transaction

            with transaction.atomic():
                world = _build(data)
        yield world
    finally:
        settings_override.disable()
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(name="world")
def fixture_world(world_module, db, tmp_path, settings, django_capture_on_commit_callbacks):
    """The module's world, on a fresh copy of its data folder; nothing a test does is committed."""
    data = _fresh_copy(world_module, tmp_path / "data")
    settings.SKILLFORGE_DATA_DIR = data
    settings.SKILLFORGE_KEY_DIR = data / "keys"
    settings.SKILLFORGE_PUBLIC_URL = "https://skillforge.test"
    with django_capture_on_commit_callbacks(execute=False):  # nothing is queued: no broker, no worker
        yield world_module


# --- judging an answer --------------------------------------------------------------------------------------

LOGIN_PATHS = ("/accounts/login/", "/admin/login/")


def is_login_redirect(response: Any) -> bool:
    return response.status_code in (301, 302) and response.get("Location", "").split("?")[0].endswith(LOGIN_PATHS)


def body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_refused(response: Any, world: World, what: str) -> None:
    status = response.status_code
    assert status in (401, 403, 404) or is_login_redirect(response), f"{what}: expected refusal, got {status}"
    text = body(response)
    leaked = [m for m in world.markers if m in text]
    assert not leaked, f"{what}: the refusal leaks {leaked}"


def assert_served(response: Any, what: str) -> None:
    status = response.status_code
    assert status not in (401, 403, 404, 405) and not is_login_redirect(response), f"{what}: expected served, got {status}"
    assert status < 500 or status == 503, f"{what}: server error {status}"

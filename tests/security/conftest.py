"""The attack suite's fixtures: the attack lab, a learner with an API token, one submission
through the real API and pipeline per attack, and a guard that proves the host is as it was.

Every test here is guarded (autouse `host_guard`): before it, we snapshot what sandboxes
can leave on the host; after it (once used Docker sandboxes are removed), we assert that
nothing new remains: no /tmp/sf-run-* (or sf-trusted-*, sf-grade-*) folders, no
skillforge cgroups, no containers labelled skillforge.sandbox, no processes of the
sandbox users (uid 1001, 1002), no files those users own in the host's temp folders, no
file named sf-security-pwned* anywhere an attack aims at, and every canary file planted
on the host (and key files of the bubblewrap root) byte-for-byte unchanged. Other graders
may share this machine (another test session, a running site): during each test our
staging folders go to a private temp folder, and containers, cgroups and processes that
belong to another grader (by container owner label, or the bwrap's parent) are left out.
test_security_guard.py proves the guard sees each kind of leftover when there is one.

The worker's secrets: `secret_env` (autouse) puts canary values into this process's
environment (the process that grades, exactly like a worker); attacks look for them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client
from security_support import (
    ANSWER,
    API_URL,
    ATTACK_LAB,
    ENV_SECRETS,
    HOST_CANARY_TEXT,
    SLUG,
    TOKEN,
    Outcome,
    attack_files,
    fingerprint,
    leftovers,
    watched_files,
)


@pytest.fixture(scope="session")
def private_tmp() -> Iterator[Path]:
    """This session's temp folder. During each test (host_guard) the sandboxes' staging
    folders (sf-run-*) and the pipeline's (sf-trusted-*) land here, so leftovers are ours
    beyond doubt even while other graders on this machine use /tmp."""
    folder = Path(tempfile.mkdtemp(prefix="sf-security-tmp-"))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def host_canaries() -> Iterator[list[Path]]:
    """Files planted on the host, readable by anyone, that no sandbox may see or change."""
    folder = Path(tempfile.mkdtemp(prefix="sf-security-canary-", dir="/tmp"))
    os.chmod(folder, 0o755)
    paths = [folder / "secret.txt", Path(f"/var/tmp/sf-security-canary-{TOKEN}"), Path(f"/dev/shm/sf-security-canary-{TOKEN}")]
    planted = []
    for path in paths:
        try:
            path.write_text(HOST_CANARY_TEXT)
            os.chmod(path, 0o644)
            planted.append(path)
        except OSError:
            pass  # no /dev/shm here, say: the others still stand guard
    yield planted
    for path in planted:
        path.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def host_guard(host_canaries, private_tmp, tmp_path, monkeypatch) -> Iterator[None]:
    from sandbox import docker_backend

    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.setenv("SKILLFORGE_SANDBOX_TMP", str(private_tmp))
    watched = watched_files(host_canaries)
    prints = {p: fingerprint(p) for p in watched}
    before = leftovers([tmp_path])
    yield
    docker_backend.drain()  # used containers are removed off the result path; wait for it
    deadline = time.monotonic() + 10
    while True:
        after = leftovers([tmp_path])
        new = {kind: sorted(after[kind] - before.get(kind, set())) for kind in after}
        new = {kind: items for kind, items in new.items() if items}
        if not new or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not new, f"left on the host after the test: {json.dumps(new, indent=1)}"
    changed = [str(p) for p in watched if fingerprint(p) != prints[p]]
    assert not changed, f"host files changed during the test: {changed}"


@pytest.fixture(autouse=True)
def secret_env(monkeypatch) -> dict[str, str]:
    """The grading process's environment holds secrets, as a worker's does."""
    for key, value in ENV_SECRETS.items():
        monkeypatch.setenv(key, value)
    return ENV_SECRETS


# --- the site: a learner, the attack lab, a backend -------------------------------------------


@pytest.fixture(name="data_dir")
def fixture_data_dir(tmp_path: Path, settings) -> Path:
    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    return settings.SKILLFORGE_DATA_DIR


@pytest.fixture
def attack_lab(db, data_dir):
    from catalog.models import Lab
    from catalog.services import import_labs

    import_labs(path=ATTACK_LAB)
    return Lab.objects.select_related("current_version").get(slug=SLUG)


@pytest.fixture
def mallory(db):
    from accounts.services import create_account

    return create_account(username="mallory", password="correct-horse-battery-staple", email="m@example.org")


@pytest.fixture
def api(mallory) -> Client:
    """Mallory's API client; a server error comes back as a 500, as a learner would see it."""
    from accounts.services import issue_token

    _, raw = issue_token(user=mallory, name="attacks")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}", raise_request_exception=False)


@pytest.fixture
def browser(mallory) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(mallory)
    return client


@pytest.fixture(params=["bubblewrap", "docker"])
def backend(request, settings) -> str:
    """Each test that takes `backend` runs once per sandbox backend, through the site's setting."""
    request.getfixturevalue("bwrap_runner" if request.param == "bubblewrap" else "docker_runner")
    settings.SKILLFORGE_SANDBOX = request.param
    return request.param


# --- one attack: submit through the API, grade with the workers' use-case, check the rows ---------


@pytest.fixture
def attack(api, browser, mallory, attack_lab, backend, django_capture_on_commit_callbacks) -> Callable[..., Outcome]:
    """Submit files as Mallory through the REST API, grade the attempt with the use-case a
    Celery worker runs, and check what every attack must leave true."""
    from graders.hashing import tree_hash
    from graders.report import validate
    from submissions import services
    from submissions.models import Attempt, Submission

    def run(files: dict[str, str] | str, *, may_pass: bool = False) -> Outcome:
        if isinstance(files, str):
            files = attack_files(files)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = api.post(API_URL, data=json.dumps({"files": files}), content_type="application/json")
        assert response.status_code == 201, response.content
        assert len(callbacks) == 1  # queued once, on commit
        submission = Submission.objects.get(pk=response.json()["id"])
        attempt = services.grade_attempt(attempt_id=submission.latest_attempt.pk)
        assert attempt is not None
        # The database: one submission, one attempt, finished, consistent.
        assert Submission.objects.filter(learner=mallory).count() == 1
        assert Attempt.objects.filter(submission__learner=mallory).count() == 1
        assert submission.status == "accepted"
        assert attempt.status in ("graded", "error") and attempt.finished_at is not None and attempt.message
        # Nothing inside the sandbox changed the stored submission or the published lab.
        assert tree_hash(submission.files_dir) == submission.content_hash
        version = attack_lab.current_version
        assert tree_hash(version.snapshot_dir) == version.content_hash
        # Grades come from the host's comparison only.
        if attempt.status == "graded":
            validate(attempt.report)
            assert attempt.report["run"]["backend"] == backend
            if not may_pass:
                assert attempt.passed is False and attempt.score < attack_lab.current_version.pass_bar
                assert {c["id"]: c["status"] for c in attempt.report["checks"]}["answer"] != "pass"
        # No secret reaches the learner: not in the report, the message, the API or the page.
        page = browser.get(f"/submissions/{submission.id}/")
        assert page.status_code == 200
        api_view = api.get(f"/api/submissions/{submission.id}")
        assert api_view.status_code == 200
        shown = json.dumps(attempt.report) + attempt.message + page.content.decode() + api_view.content.decode()
        for secret in ENV_SECRETS.values():
            assert secret not in shown
        assert HOST_CANARY_TEXT.strip() not in shown
        if not may_pass:
            assert ANSWER not in shown
        return Outcome(backend, submission, attempt, page.content.decode())

    return run

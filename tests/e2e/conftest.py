"""Browser tests: Playwright for Python driving Debian's Chromium against a live site.

The site is a real gunicorn process (DEBUG off, collected static files, as in production)
and grading is a real Celery worker with a real sandbox, both on pytest-django's test
database (PostgreSQL) and a Redis broker, sharing one data folder (lab snapshots,
submissions, the issuer's keys). Tests use `transactional_db`, so what they write is
committed and both processes see it.

Each journey saves screenshots under tests/e2e/artefacts/<journey>/ (or
$SKILLFORGE_E2E_ARTEFACTS), at desktop and phone widths, and checks pages with axe-core
(WCAG 2 A/AA rules: contrast, labels, names) where it says so.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse
from urllib.request import urlopen

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from browser_support import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, Shots  # noqa: E402
from workers import start_worker, stop_worker  # noqa: E402

pytestmark = [pytest.mark.services, pytest.mark.slow]


def _missing(what: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} (REQUIRE_SERVICES=1 makes this a failure, not a skip)")
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sandbox_name() -> str:
    import sandbox

    for name in ("bubblewrap", "docker"):
        try:
            sandbox.backend(name)
            return name
        except sandbox.SandboxUnavailable:
            continue
    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail("no sandbox backend (REQUIRE_DOCKER=1 makes this a failure, not a skip)")
    pytest.skip("no sandbox backend here: bubblewrap as root, or a Docker engine")


def _test_database_url() -> str:
    from django.db import connection

    url = urlparse(os.environ["DATABASE_URL"])
    return urlunparse(url._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture(scope="session")
def site_env(require_postgres, redis_url, django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    """What the web process, the worker and this process share."""
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    from skillforge.celery import app

    app.conf.broker_url = redis_url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    port = _free_port()
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    data = tmp_path_factory.mktemp("e2e-data")
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SKILLFORGE_DATA_DIR": str(data),
        "SKILLFORGE_SANDBOX": _sandbox_name(),
        "SKILLFORGE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SKILLFORGE_POOL_SIZE": "0",
        "PORT": str(port),
    }


def _process_env(site_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update({k: v for k, v in site_env.items() if k != "PORT"})
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "platform"), str(REPO)]), **extra)
    return env


# The web and worker processes live while this folder's tests run: the integration tests
# after them start workers of their own on the same queues, which ours must not compete with.
_RUNNING: list[subprocess.Popen] = []
_CLOSE: list = []  # the browser, closed with them


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def pytest_runtest_teardown(item, nextitem) -> None:
    here = Path(__file__).parent
    if nextitem is None or here not in Path(nextitem.path).parents:
        while _CLOSE:
            _CLOSE.pop()()
        while _RUNNING:
            _stop(_RUNNING.pop())


@pytest.fixture(scope="session")
def live_site(site_env, tmp_path_factory) -> Iterator[str]:
    """gunicorn serving the site with DEBUG off, static files collected and served by whitenoise."""
    static = tmp_path_factory.mktemp("e2e-static")
    env = _process_env(site_env, DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1,localhost",
                       SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
                       SECURE_HSTS_SECONDS="0", STATIC_ROOT=str(static), LOG_LEVEL="WARNING")
    collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=REPO, env=env,
                               capture_output=True, text=True)
    if collected.returncode:
        pytest.fail(f"collectstatic failed:\n{collected.stdout}\n{collected.stderr}")
    log_path = tmp_path_factory.mktemp("e2e-web") / "gunicorn.log"
    url = site_env["SKILLFORGE_PUBLIC_URL"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "skillforge.wsgi", "--bind", f"127.0.0.1:{site_env['PORT']}",
             "--workers", "1", "--threads", "8", "--timeout", "120", "--access-logfile", "-"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urlopen(f"{url}/", timeout=2):  # noqa: S310 - our own server
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
    proc.log_path = log_path  # type: ignore[attr-defined]
    _RUNNING.append(proc)
    yield url
    _stop(proc)


@pytest.fixture(scope="session")
def grading_worker(site_env, tmp_path_factory) -> Iterator[subprocess.Popen]:
    from skillforge.celery import app

    app.control.purge()  # messages of earlier runs name attempts that do not exist here
    env = {k: v for k, v in site_env.items() if k != "PORT"}
    proc = start_worker(env, tmp_path_factory.mktemp("e2e-worker") / "worker.log", name="e2e")
    _RUNNING.append(proc)
    yield proc
    if proc.poll() is None:
        stop_worker(proc)


@pytest.fixture
def published(live_site, grading_worker, site_env, settings, transactional_db) -> list[str]:
    """Every lab under labs/ published (the rows are flushed after each test); their slugs."""
    from catalog.services import import_labs
    from graders import LabSpecError

    settings.SKILLFORGE_DATA_DIR = Path(site_env["SKILLFORGE_DATA_DIR"])
    settings.SKILLFORGE_SANDBOX = site_env["SKILLFORGE_SANDBOX"]
    settings.SKILLFORGE_PUBLIC_URL = live_site
    # Every folder with a lab.toml (in a checkout where a lab is half-written, the others still run).
    slugs = []
    for folder in sorted((REPO / "labs").iterdir()):
        if (folder / "lab.toml").is_file():
            try:
                slugs += [imported.slug for imported in import_labs(path=folder)]
            except LabSpecError:
                continue  # a lab someone is still writing in this checkout
    return slugs


@pytest.fixture
def site(published, live_site) -> str:
    """The live site's base URL, its labs published."""
    return live_site


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs its own event loop on this thread; Django refuses ORM calls
    # while a loop runs unless told it is safe. It is: each call here is plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    manager = sync_playwright()
    pw = manager.start()
    chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    closed = []

    def close() -> None:
        if not closed:
            closed.append(True)
            chromium.close()
            pw.stop()
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    _CLOSE.append(close)
    yield chromium
    close()


@pytest.fixture
def shots(request, browser, site) -> Shots:
    return Shots(request.node.name.removeprefix("test_"), browser, site)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.e2e_failed = report.failed
    return report


@pytest.fixture
def new_page(request, browser, site) -> Iterator:
    """A fresh browser context (no cookies) per call; console errors fail the test.
    A failing test leaves a screenshot of each of its pages: artefacts/<journey>/failed-N.png."""
    contexts = []
    errors: list[str] = []

    def make():
        context = browser.new_context(viewport=DESKTOP, base_url=site)
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        contexts.append(context)
        return page

    yield make
    if getattr(request.node, "e2e_failed", False):
        folder = ARTEFACTS / request.node.name.removeprefix("test_")
        folder.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(folder / f"failed-{i}-{j}.png"), full_page=True)
    for context in contexts:
        context.close()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)



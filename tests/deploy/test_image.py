"""The platform image (deploy/Dockerfile), built for real by deploy/build-image.sh and run.

Builds the image (or finds it: the script tags it by a hash of everything the build reads and
returns at once when that image exists), then runs it as each role: the web on SQLite (migrate,
import_labs, gunicorn) answering /healthz, the lab list, static files and /metrics to this host;
a Celery worker answering `inspect ping`; a worker grading a lab's solution in a sibling
container on this host's engine, as compose's workers do; and the tools the image ships.

Needs a Docker engine (REQUIRE_DOCKER=1 turns its absence into a failure), and for a cold
build root with debootstrap and the network to Debian's mirror and PyPI. A cold build takes
about 3 to 5 minutes on 2 cores (docs/deploy.md), hence the long timeout.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABS = sorted(p.parent.name for p in (REPO / "labs").glob("*/lab.toml"))
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: exit {done.returncode}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def image() -> str:
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("no Docker engine answers (REQUIRE_DOCKER=1 makes this a failure, not a skip)")
        pytest.skip("no Docker engine answers")
    if not (REPO / "var" / "images" / "skillforge_lab-python" / "digest").is_file():
        pytest.fail("the lab image is not built: run ./sf setup (python -m sandbox.images.build lab-python)")
    started = time.monotonic()
    done = subprocess.run([str(REPO / "deploy" / "build-image.sh")], capture_output=True, text=True, timeout=840)
    assert done.returncode == 0, f"deploy/build-image.sh failed:\n{done.stderr[-6000:]}"
    tag = done.stdout.strip().splitlines()[-1]
    steps = "".join(f"\n  {line}" for line in done.stderr.splitlines() if line.startswith("==> "))
    print(f"\n{tag} ready in {time.monotonic() - started:.0f} s:{steps}")
    return tag


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def container_names() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        docker("rm", "-f", name, check=False)


def run_detached(names: list[str], image: str, *args: str) -> str:
    name = f"sf-image-test-{os.getpid()}-{len(names)}-{secrets.token_hex(3)}"
    names.append(name)
    docker("run", "-d", "--name", name, *args[:-1], image, "sh", "-c", args[-1])
    return name


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(what: str, name: str, ready, seconds: float = 180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            result = ready()
            if result:
                return result
        except OSError:
            pass
        state = docker("inspect", "-f", "{{.State.Running}}", name).stdout.strip()
        if state != "true":
            break
        time.sleep(1)
    logs = docker("logs", "--tail", "60", name, check=False)
    pytest.fail(f"{what}: not ready\n{logs.stdout}{logs.stderr}")


def test_web_role_on_sqlite_serves_this_host(image, container_names, tmp_path):
    """migrate + import_labs + gunicorn as the image's user, secrets from files (entrypoint.sh):
    /healthz, the lab list (page and API), a hashed static file and /metrics from the host."""
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    token = secrets.token_urlsafe(32)
    (secrets_dir / "secret_key").write_text(secrets.token_urlsafe(64))
    (secrets_dir / "metrics_token").write_text(token)
    for path in (secrets_dir, *secrets_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o444)  # the image's user, uid 10001, reads them
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # --network host with gunicorn bound to 127.0.0.1 only: engines here run without a bridge
    # (dockerd --bridge=none), so nothing can be published; nothing else is reachable from it
    # that the test uses (SQLite and the filesystem broker live in the container).
    name = run_detached(
        container_names, image,
        "--network", "host", "-v", f"{secrets_dir}:/run/secrets:ro",
        "-e", "DEBUG=0", "-e", "SECRET_KEY_FILE=/run/secrets/secret_key",
        "-e", "SKILLFORGE_METRICS_TOKEN_FILE=/run/secrets/metrics_token",
        "-e", "ALLOWED_HOSTS=127.0.0.1,localhost", "-e", f"SKILLFORGE_PUBLIC_URL={base}",
        "-e", "SECURE_SSL_REDIRECT=0", "-e", "SESSION_COOKIE_SECURE=0", "-e", "CSRF_COOKIE_SECURE=0",
        "-e", "DATABASE_URL=sqlite:////data/db.sqlite3", "-e", f"PORT={port}",
        "python manage.py migrate --noinput -v0 && python manage.py import_labs -v0 && "
        f"exec gunicorn skillforge.wsgi --bind 127.0.0.1:{port} --workers 2 --timeout 60",
    )
    status, body = wait_until("the web role", name, lambda: get(f"{base}/healthz"))
    checks = json.loads(body)["checks"]
    assert checks["database"]["ok"] and checks["broker"]["ok"], checks
    assert status in (200, 503)  # 503 only for the sandbox, which the web role has none of
    # The container's own health check (compose, k8s) passes: database and broker.
    assert docker("exec", name, "python", "deploy/healthcheck.py").returncode == 0

    status, body = get(f"{base}/api/labs")
    assert status == 200, body[:500]
    assert sorted(lab["slug"] for lab in json.loads(body)) == LABS
    status, body = get(f"{base}/")
    assert status == 200
    page = body.decode()
    assert all(f"/labs/{slug}/" in page for slug in LABS)
    static = re.search(r'/static/skillforge/site\.[0-9a-f]{12}\.css', page)  # collectstatic's manifest name
    assert static, "the page names no hashed stylesheet"
    status, css = get(base + static.group(0), {"Accept-Encoding": "br"})
    assert status == 200 and css

    assert get(f"{base}/metrics")[0] == 403
    status, body = get(f"{base}/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200 and b"skillforge_" in body
    user = docker("exec", name, "id", "-u").stdout.strip()
    assert user == "10001"


def test_worker_role_answers_celery_ping(image, container_names):
    """The workers' command (celery worker, --pool solo, as root) starts and answers inspect ping
    over the embedded filesystem broker; no network at all."""
    name = run_detached(
        container_names, image,
        "--network", "none", "--user", "0:0", "-e", "DATABASE_URL=sqlite:////data/db.sqlite3",
        "-e", "SKILLFORGE_GPUS=", "-e", "SKILLFORGE_POOL_SIZE=0",
        "python manage.py migrate --noinput -v0 && exec celery -A skillforge worker -Q cpu --pool solo "
        "-n smoke@%h --without-gossip --without-mingle --loglevel INFO",
    )

    def ping() -> str | None:
        done = docker("exec", "-u", "0:0", name, "/app/deploy/entrypoint.sh", "celery", "-A", "skillforge", "inspect", "ping",
                      "--timeout", "5", check=False, timeout=60)
        return done.stdout if "pong" in done.stdout else None

    assert "smoke@" in wait_until("the worker role", name, ping)


def test_worker_grades_in_a_sibling_container(image, tmp_path):
    """As compose's workers: root, the host engine's socket, staging folders at the same path
    here and on the host, cgroups read-only, pid: host. A lab's solution scores 1.0."""
    if docker("image", "inspect", "skillforge/lab-python", check=False).returncode:
        pytest.fail("the lab image is not in Docker: run python -m sandbox.images.build lab-python --docker")
    staging = tmp_path / "sandbox-tmp"
    staging.mkdir()
    done = docker(
        "run", "--rm", "--network", "none", "--user", "0:0", "--pid", "host",
        "-v", "/var/run/docker.sock:/var/run/docker.sock", "-v", f"{staging}:{staging}",
        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro",
        "-e", "SKILLFORGE_SANDBOX=docker", "-e", f"SKILLFORGE_SANDBOX_TMP={staging}", "-e", "SKILLFORGE_POOL_SIZE=0",
        image, "python", "manage.py", "grade", "labs/async-python", "labs/async-python/solution", "--json",
        timeout=300,
    )
    report = json.loads(done.stdout)
    assert report["score"] == 1.0 and report["passed"], done.stdout[-3000:]
    assert report["run"]["backend"] == "docker"


def test_the_image_ships_its_tools(image):
    """bubblewrap, promtool, WeasyPrint with Pango and fonts, the lab image's root folder at the
    digest this checkout built (so compose's lab-image service imports it without debootstrap),
    no build tools (pip's downloads, wheels) left behind."""
    digest = (REPO / "var" / "images" / "skillforge_lab-python" / "digest").read_text().strip()
    script = (
        "set -e; bwrap --version; promtool --version | head -1; "
        "python -c \"import weasyprint; pdf = weasyprint.HTML(string='<h1>SkillForge</h1>').write_pdf(); "
        "assert pdf.startswith(b'%PDF'); print('pdf', len(pdf))\"; "
        "python -m sandbox.images.build lab-python; "
        "test ! -e /wheels; python --version"
    )
    done = docker("run", "--rm", "--network", "none", image, "sh", "-c", script)
    out = done.stdout
    assert "bubblewrap" in out and "promtool, version" in out and "pdf " in out, out
    assert f"skillforge/lab-python {digest}" in out, out  # the digest matched: no debootstrap ran
    assert "Python 3.11." in out
    labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", image).stdout)
    assert labels["skillforge.content"] == image.rsplit(":", 1)[1]

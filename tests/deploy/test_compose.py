"""deploy/compose.yaml, the platform image's Dockerfile and its entry point and health check.

The compose file is validated by Compose itself (`docker compose config`, or the
`docker-compose` v1 of Debian) where one is installed (CI installs docker-compose), and
its structure is checked here either way: the services a production site needs, the GPU
worker behind a profile, health checks and start-up order, settings that the platform
reads, and secrets never written into the file. The Dockerfile's inputs are checked here;
tests/deploy/test_image.py builds the image (deploy/build-image.sh) and runs it."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
LONG_RUNNING = {"postgres", "redis", "web", "worker-cpu", "worker-gpu", "beat", "prometheus", "grafana"}
ONE_SHOT = {"init-secrets", "migrate", "lab-image"}
SECRETS = {"SECRET_KEY", "SKILLFORGE_METRICS_TOKEN"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


def compose_command() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_itself_accepts_the_file():
    command = compose_command()
    if command is None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("neither `docker compose` nor docker-compose is installed (REQUIRE_DOCKER=1)")
        pytest.skip("neither `docker compose` nor docker-compose is installed: structure checked below only")
    for profile in ([], ["--profile", "gpu"]):
        done = subprocess.run([*command, "-f", str(COMPOSE), *profile, "config"], capture_output=True, text=True,
                              cwd=DEPLOY, timeout=60, env={**os.environ, "POSTGRES_PASSWORD": "x"})
        assert done.returncode == 0, done.stderr
        resolved = yaml.safe_load(done.stdout)["services"]
        assert "worker-gpu" in resolved or not profile  # (v1 lists profiled services either way)
        worker = resolved["worker-cpu"]
        assert worker["environment"]["SKILLFORGE_SANDBOX"] == "docker"
        assert worker["environment"]["DATABASE_URL"].startswith("postgres://skillforge:x@postgres:5432/")


def test_the_services_a_site_needs():
    found = services()
    assert set(found) == LONG_RUNNING | ONE_SHOT
    assert found["worker-gpu"]["profiles"] == ["gpu"]
    assert all("profiles" not in s for name, s in found.items() if name != "worker-gpu")  # one command starts the rest
    assert found["web"]["command"][0] == "gunicorn"
    for queue in ("cpu", "gpu"):
        command = found[f"worker-{queue}"]["command"]
        assert command[command.index("-Q") + 1] == queue and "solo" in command
    assert found["beat"]["command"][:4] == ["celery", "-A", "skillforge", "beat"]
    gpu = found["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["capabilities"] == ["gpu"] and found["worker-gpu"]["environment"]["SKILLFORGE_GPUS"] == "auto"


def test_health_checks_and_start_order():
    found = services()
    for name in LONG_RUNNING:
        assert found[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name, service in found.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition == {"condition": wanted}, f"{name} -> {dependency}"
    assert {"postgres", "redis", "migrate"} <= set(found["web"]["depends_on"])
    assert "lab-image" in found["worker-cpu"]["depends_on"]  # workers grade only once the engine has the image


def test_workers_reach_the_engine_the_documented_way():
    for name in ("worker-cpu", "worker-gpu"):
        worker = services()[name]
        volumes = {v.split(":")[1]: v.split(":")[0] for v in worker["volumes"]}
        staging = worker["environment"]["SKILLFORGE_SANDBOX_TMP"]
        assert volumes["/var/run/docker.sock"] == "/var/run/docker.sock"
        assert volumes[staging] == staging  # the host engine binds these paths into sandboxes
        assert worker["pid"] == "host" and worker["user"] == "0:0"


def test_settings_come_from_variables_the_platform_reads():
    settings_source = (REPO / "platform" / "skillforge" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', settings_source))
    for module in (REPO / "sandbox").rglob("*.py"):  # the sandbox reads a few itself (no Django there)
        read |= set(re.findall(r'environ(?:\.get)?\(\s*"([A-Z0-9_]+)"', module.read_text()))
    entrypoint = (DEPLOY / "entrypoint.sh").read_text()
    for name, service in services().items():
        env = service.get("environment") or {}
        if not service.get("image", "").startswith("skillforge/platform"):
            continue
        for key in env:
            if key.endswith("_FILE"):
                assert key.removesuffix("_FILE") in entrypoint, f"{name}: {key} is not read by the entry point"
            else:
                assert key in read, f"{name}: {key} is not a setting the platform reads"
        assert not SECRETS & set(env), f"{name}: a secret written into compose.yaml"


def test_files_the_services_mount_exist():
    for service in services().values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), source
    assert (DEPLOY / "grafana" / "dashboards" / "skillforge.json").is_file()


def test_dockerfile_inputs_exist():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    build = services()["web"]["build"]
    assert {k: build[k] for k in ("context", "dockerfile")} == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert set(build.get("args", {})) <= set(re.findall(r"^ARG (\w+)", dockerfile, re.M))
    allowed = [line[1:].rstrip("/") for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
               if line.startswith("!")]
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        if line.startswith("--from="):
            continue  # from an earlier stage of the same Dockerfile
        *sources, _ = line.split()
        for source in sources:
            assert any(source == a or source.startswith(a + "/") for a in allowed), f"COPY {source}: not in the context"
            if source.startswith("var/"):
                continue  # built before `docker build`: by ./sf setup and deploy/build-image.sh
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
    assert '"/app/deploy/entrypoint.sh"' in dockerfile and os.access(DEPLOY / "entrypoint.sh", os.X_OK)
    assert os.access(DEPLOY / "build-image.sh", os.X_OK)


def test_entrypoint_reads_secrets_from_files(tmp_path):
    secret = tmp_path / "secret_key"
    secret.write_text("s3cret-from-a-file")
    done = subprocess.run([str(DEPLOY / "entrypoint.sh"), "printenv", "SECRET_KEY"], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "SECRET_KEY_FILE": str(secret)})
    assert done.returncode == 0 and done.stdout.strip() == "s3cret-from-a-file"
    done = subprocess.run([str(DEPLOY / "entrypoint.sh"), "true"], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "SECRET_KEY_FILE": str(tmp_path / "missing")})
    assert done.returncode == 1 and "SECRET_KEY_FILE" in done.stderr


def test_web_healthcheck_ignores_the_sandbox_only_workers_have():
    replies: list[dict] = []

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps(replies[-1]).encode()
            self.send_response(200 if all(c["ok"] for c in replies[-1]["checks"].values()) else 503)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        def check(**oks: bool) -> int:
            replies.append({"checks": {name: {"ok": ok} for name, ok in oks.items()}})
            return subprocess.run([sys.executable, str(DEPLOY / "healthcheck.py")], capture_output=True,
                                  env={**os.environ, "PORT": str(server.server_port)}).returncode

        assert check(database=True, broker=True, sandbox=False) == 0
        assert check(database=False, broker=True, sandbox=True) == 1
        assert check(database=True, broker=False, sandbox=True) == 1
    finally:
        server.shutdown()

"""What the end-to-end benchmarks share: a real stack on this machine, and small statistics.

    Stack(labs=[...], backend="bubblewrap")   PostgreSQL (a database of its own), a Redis db
                                              of its own, gunicorn, real Celery workers
                                              (`./sf worker`, --pool solo), labs imported

Defaults: BENCH_DATABASE_URL (postgres://postgres@127.0.0.1:5432/perf) and BENCH_REDIS_URL
(redis://127.0.0.1:6379/9). The Redis db is flushed at start; the database is migrated
in place (created when missing). Production-like settings: DEBUG off, static files
collected; gunicorn keeps a database connection per thread for 60 s (DB_CONN_MAX_AGE as
deploy/ sets it; start_web(env=...) changes it) and the workers keep theirs
(`./sf worker`'s default), as deployed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[1]
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
TINY = REPO / "tests" / "integration" / "fixtures" / "labs" / "tiny-answer"
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/perf")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
LEARNER_PASSWORD = "bench-learner-pass-0"
SECRET = "bench-" + "x" * 60  # DEBUG off wants a long key; nothing here is secret
if str(REPO) not in sys.path:  # graders and sandbox, for the benchmarks that import them
    sys.path.insert(0, str(REPO))


def lab_dir(slug: str) -> Path:
    """labs/<slug>, or the trivial test lab (tiny-answer) from the integration fixtures."""
    return TINY if slug == "tiny-answer" else REPO / "labs" / slug


# --- statistics and tables ---------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-quantile by nearest rank (q=0.5 is the median of an odd count)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def p50(values: Sequence[float]) -> float:
    return statistics.median(values)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, first: int = 44) -> str:
    """A plain text table: the first column left-aligned, numbers right-aligned."""
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
        return str(value)

    lines = [f"{header[0]:{first}} " + " ".join(f"{h:>10}" for h in header[1:])]
    for row in rows:
        lines.append(f"{cell(row[0]):{first}} " + " ".join(f"{cell(v):>10}" for v in row[1:]))
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the stack ----------------------------------------------------------------------------


def ensure_database(url: str, *, fresh: bool = False) -> None:
    """Create the benchmark's own database if it is missing (never the shared `test`);
    fresh: drop it first."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if name in ("test", "postgres", ""):
        raise SystemExit(f"use a database of the benchmark's own, not {name!r}")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if fresh:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


class Stack:
    """Start with `with Stack(...) as stack:`; everything started is stopped on exit."""

    def __init__(self, *, labs: Sequence[str], backend: str, database_url: str = DATABASE_URL,
                 redis_url: str = REDIS_URL, pool_size: int = 2,
                 extra_env: dict[str, str] | None = None) -> None:
        self.labs, self.backend = list(labs), backend
        self.database_url, self.redis_url = database_url, redis_url
        self.tmp = Path(tempfile.mkdtemp(prefix="sf-bench-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.base = ""
        self.learners: list[Learner] = []
        self._next = 0
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DB_CONN_MAX_AGE")},
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            # one per database: lab snapshots outlive a run, as the rows do (and the issuer's
            # key must live outside the checkout when DEBUG is off)
            "SKILLFORGE_DATA_DIR": str(Path(tempfile.gettempdir()) / f"sf-bench-data-{urlparse(database_url).path.strip('/')}"),
            "SKILLFORGE_LABS_DIR": str(self.tmp / "labs"),
            "SKILLFORGE_SANDBOX": backend,
            "SKILLFORGE_POOL_SIZE": str(pool_size),
            "SKILLFORGE_GPUS": "",
            "STATIC_ROOT": str(REPO / "var" / "bench-static"),
            "DEBUG": "0",
            "SECRET_KEY": SECRET,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "SKILLFORGE_PUBLIC_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
            # as behind a proxy: each simulated learner comes from an address of its own, so
            # the per-IP rate limits see many learners, as they would in production
            "SKILLFORGE_CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR",
            "PYTHONPATH": f"{REPO / 'platform'}:{REPO}",
            **(extra_env or {}),
        }

    # -- set-up ---------------------------------------------------------------------------
    def manage(self, *args: str) -> str:
        done = subprocess.run([PY, str(REPO / "manage.py"), *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
        return done.stdout

    def __enter__(self) -> Stack:
        try:
            data = Path(self.env["SKILLFORGE_DATA_DIR"])
            # rows without the lab snapshots they name are no use: start both afresh
            ensure_database(self.database_url, fresh=not data.exists())
            data.mkdir(parents=True, exist_ok=True)
            flush_redis(self.redis_url)
            labs = self.tmp / "labs"
            labs.mkdir()
            for slug in self.labs:
                shutil.copytree(lab_dir(slug), labs / slug)
            self.manage("migrate", "--noinput")
            self.manage("import_labs")
            self.manage("seed_demo", "--force")
            self.django()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown: workers remove their pooled sandboxes
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- processes ------------------------------------------------------------------------
    def start_workers(self, count: int = 1, *, extra: Sequence[str] = (),
                      command: Sequence[str] = (str(REPO / "sf"), "worker")) -> list[subprocess.Popen[bytes]]:
        """`count` real workers, each `./sf worker` (celery --pool solo); returns when all are ready."""
        started = []
        for i in range(count):
            log = self.tmp / f"worker-{len(self.workers) + i}.log"
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [*command, "-n", f"bench{len(self.workers) + i}-{os.getpid()}@%h",
                     "-l", "info", *extra],
                    cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            proc.log_path = log  # type: ignore[attr-defined]
            started.append(proc)
            self.procs.append(proc)
        deadline = time.monotonic() + 120
        for proc in started:
            log = proc.log_path  # type: ignore[attr-defined]
            while "ready." not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start:\n{log.read_text(errors='replace')[-4000:]}")
                time.sleep(0.1)
        self.workers += started
        return started

    def start_worker_processes(self, count: int) -> subprocess.Popen[bytes]:
        """One `./sf worker --processes count`; returns when every process is ready."""
        log = self.tmp / f"workers-{len(self.procs)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(REPO / "sf"), "worker", "--processes", str(count), "-l", "info"],
                                    cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 180
        while log.read_text(errors="replace").count("ready.") < count:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)
        self.workers.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Warm shutdown of one process started here (and what it started)."""
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.procs.remove(proc)
        if proc in self.workers:
            self.workers.remove(proc)

    def start_web(self, *, workers: int = 2, threads: int = 1, config: str = "", env: dict[str, str] | None = None) -> str:
        """gunicorn on a free loopback port, static files collected (DEBUG is off)."""
        manifest = Path(self.env["STATIC_ROOT"]) / "staticfiles.json"
        sources = [p for p in REPO.glob("platform/*/static/**/*") if p.is_file()]
        # collectstatic compresses every file again (over a minute here): only when one changed
        if not manifest.exists() or any(p.stat().st_mtime > manifest.stat().st_mtime for p in sources):
            self.manage("collectstatic", "--noinput")
        port = free_port()
        log = self.tmp / "gunicorn.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [PY, "-m", "gunicorn", "skillforge.wsgi:application", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--threads", str(threads), "--worker-class",
                 "gthread" if threads > 1 else "sync", "--timeout", "60", "--log-level", "warning",
                 *(["--config", config] if config else [])],
                cwd=REPO, env={"DB_CONN_MAX_AGE": "60", **self.env, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.procs.append(proc)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.base + "/api/openapi.json", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log.read_text(errors='replace')[-4000:]}") from None
                time.sleep(0.2)
        return self.base

    def django(self) -> None:
        """Set this process up as the site (same settings as the workers) to read and write rows."""
        os.environ.update({k: v for k, v in self.env.items() if k != "PYTHONPATH"})
        os.environ["DJANGO_SETTINGS_MODULE"] = "skillforge.settings"
        for folder in (str(REPO), str(REPO / "platform")):
            if folder not in sys.path:
                sys.path.insert(0, folder)
        import django

        django.setup()

    # -- learners and HTTP ----------------------------------------------------------------
    def add_learners(self, count: int) -> list[Learner]:
        """count learner accounts, each with an API token and a client address of its own."""
        from django.contrib.auth import get_user_model

        from accounts.services import create_account, issue_token

        made = []
        for _ in range(count):
            i = len(self.learners)
            name = f"bench-{os.getpid()}-{i}"
            user = get_user_model().objects.filter(username=name).first() or create_account(
                username=name, password=LEARNER_PASSWORD, email=f"{name}@example.org", role="learner")
            _, raw = issue_token(user=user, name="bench")
            self.learners.append(Learner(name, raw, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", user.pk))
            made.append(self.learners[-1])
        return made

    def learner(self) -> Learner:
        """The next learner, round robin (each stays far under the per-learner submit limits)."""
        if not self.learners:
            self.add_learners(8)
        self._next = (self._next + 1) % len(self.learners)
        return self.learners[self._next]

    def api(self, method: str, path: str, body: bytes | None = None, content_type: str = "", *,
            learner: Learner | None = None) -> Any:
        learner = learner or self.learner()
        headers = {"Authorization": f"Bearer {learner.token}", "X-Forwarded-For": learner.ip}
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(self.base + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as exc:
            log = (self.tmp / "gunicorn.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}\n{log}") from None

    def session(self, learner: Learner) -> urllib.request.OpenerDirector:
        """A browser session logged in as the learner (cookies kept), from the learner's address."""
        import http.cookiejar
        import urllib.parse

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.addheaders = [("X-Forwarded-For", learner.ip)]
        opener.open(self.base + "/accounts/login/").read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode({"username": learner.username, "password": LEARNER_PASSWORD,
                                       "csrfmiddlewaretoken": csrf}).encode()
        opener.open(urllib.request.Request(self.base + "/accounts/login/", data=form,
                                           headers={"Referer": self.base + "/accounts/login/"})).read()
        if not any(c.name == "sessionid" for c in jar):
            raise RuntimeError(f"{learner.username} could not log in")
        return opener

    def submit_and_wait(self, slug: str, body: bytes, content_type: str, *,
                        learner: Learner | None = None) -> dict[str, Any]:
        """Submit over the API as the next learner, then ask for the submission with
        `?wait=25`: the answer comes when the grade is committed (the worker's announcement
        wakes the request), as any client of the API would get it.
        Returns the API's document, with "t_submit", "t_posted" (the POST answered), "t_stored"
        and "t_seen" (time.time())."""
        learner = learner or self.learner()
        t_submit = time.time()
        sub = self.api("POST", f"/api/labs/{slug}/submissions", body, content_type, learner=learner)
        t_posted = time.time()
        if sub["status"] == "rejected":
            raise RuntimeError(f"rejected: {sub['message']}")
        deadline = time.monotonic() + 120
        doc = sub
        while doc["status"] in ("queued", "running"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"submission {sub['id']} was not graded within 120 s")
            doc = self.api("GET", f"/api/submissions/{sub['id']}?wait=25", learner=learner)
        t_seen = time.time()
        finished = doc["attempt"]["finished_at"]
        stored = datetime.fromisoformat(finished.replace("Z", "+00:00")).timestamp()
        return {**doc, "t_submit": t_submit, "t_posted": t_posted, "t_stored": stored, "t_seen": t_seen}


@dataclass(frozen=True)
class Learner:
    username: str
    token: str
    ip: str
    pk: int


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----skillforge-bench"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def zip_folder(folder: Path) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


# --- many submissions at once (throughput, memory) -------------------------------------------


def queue_burst(n: int, *, lab_slug: str = "tiny-answer", files: dict[str, str] | None = None) -> tuple[list[int], float]:
    """n accepted submissions of the lab in one transaction, so every enqueue runs at its
    commit: the broker receives all n in one burst. Returns the attempt ids and the
    wall-clock time (time.time()) at which the burst was sent. Needs Stack.django()."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from catalog.models import Lab
    from submissions import services
    from submissions.models import Attempt, Submission

    learner = get_user_model().objects.get(username="demo-learner")
    lab = Lab.objects.select_related("current_version").get(slug=lab_slug)
    files = files or {"main.py": "print(42)\n"}
    with transaction.atomic():
        ids = []
        for _ in range(n):
            sub = services.submit(learner=learner, lab=lab,
                                  intake=services.Intake(source=Submission.Source.API_FILES, files=files))
            ids.append(sub.id)
        sent = time.time()
    return list(Attempt.objects.filter(submission_id__in=ids).values_list("pk", flat=True)), sent


# --- what the machine spent ---------------------------------------------------------------------


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def tree_cpu(pids: Iterable[int]) -> float:
    """CPU seconds of these processes, their live descendants, and the children they reaped."""
    import psutil

    total = 0.0
    seen: set[int] = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for proc in family:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                t = proc.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                continue
    return total


def database_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving this database (the server is shared)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if cmdline.startswith("postgres:") and f" {database} " in f"{cmdline} ":
                t = proc.cpu_times()
                total += t.user + t.system
        except psutil.Error:
            continue
    return total


def wait_done(attempt_ids: list[int], *, timeout: float, progress: Any = None) -> None:
    """Until every attempt is graded or errored (or the timeout: then raise)."""
    from submissions.models import Attempt

    deadline = time.monotonic() + timeout
    while True:
        left = Attempt.objects.filter(pk__in=attempt_ids, status__in=("queued", "running")).count()
        if progress is not None:
            progress(len(attempt_ids) - left)
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} of {len(attempt_ids)} attempts were not graded within {timeout:.0f} s")
        time.sleep(0.25)

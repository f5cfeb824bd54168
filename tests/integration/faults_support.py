"""What the fault tests share (test_faults_services.py, test_faults_sandbox.py): a Redis of
their own as the broker, the fixture lab and a learner, real workers, and the checks that
every submission ended graded or as an error with a reason, once, with no sandbox left."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import InterfaceError, OperationalError, connection
from workers import FIXTURES, REPO, start_worker, stop_worker

from accounts.services import create_account
from catalog.models import Lab
from catalog.services import import_labs
from credentials.models import Credential
from submissions import services
from submissions.models import Attempt, Submission

RIGHT = "print(42)\n"
SLOW = "import time\ntime.sleep({})\nprint(42)\n"  # the fixture lab's driver gives the learner 3 s
ROOTFS = REPO / "var" / "images" / "skillforge_lab-python" / "rootfs"


def _missing(what: str, strict_var: str) -> None:
    if os.environ.get(strict_var) == "1":
        pytest.fail(f"{what} ({strict_var}=1 makes this a failure, not a skip)")
    pytest.skip(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# --- a Redis of our own -------------------------------------------------------------------


class OwnRedis:
    """`redis-server --save '' --appendonly no` on a free port: a restart loses every message."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--daemonize", "no", "--dir", str(self.folder)]
        with open(self.folder / "redis.log", "a") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self.answers, 10, f"redis-server on port {self.port}", 0.02)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _use_broker(url: str) -> None:
    """Point this process's Celery app (which publishes on commit) at `url`, dropping pooled connections."""
    from skillforge.celery import app

    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(name="broker", scope="module")
def fixture_broker(worker_env, tmp_path_factory) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        _missing("redis-server is not installed (Debian package redis-server)", "REQUIRE_SERVICES")
    from skillforge.celery import app

    shared = app.conf.broker_url
    server = OwnRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    _use_broker(server.url)
    try:
        yield server
    finally:
        server.stop()
        _use_broker(shared)


@pytest.fixture(name="env", scope="module")
def fixture_env(worker_env, broker) -> dict[str, str]:
    return {**worker_env, "REDIS_URL": broker.url, "CELERY_BROKER_URL": broker.url}


# --- what every test asserts ------------------------------------------------------------------


def submit(learner, lab: Lab, code: str = RIGHT) -> Submission:
    return services.submit(learner=learner, lab=lab, intake=services.Intake(source="api_files", files={"main.py": code}))


def attempt_of(submission: Submission) -> int:
    attempt = submission.latest_attempt
    assert attempt is not None, submission.message
    return attempt.pk


def status(attempt_id: int) -> str:
    """The attempt's status; '' while the database does not answer (it is being restarted)."""
    try:
        return Attempt.objects.get(pk=attempt_id).status
    except (OperationalError, InterfaceError):
        connection.close()  # a connection the restart broke; the next query opens a new one
        return ""


def wait_for(attempt_id: int, statuses: tuple[str, ...], timeout: float, workers=()) -> None:
    deadline = time.monotonic() + timeout
    while status(attempt_id) not in statuses:
        if time.monotonic() > deadline:
            logs = "\n".join(w.log_path.read_text()[-2500:] for w in workers)
            pytest.fail(f"attempt {attempt_id} still {status(attempt_id)!r} after {timeout} s\n{logs}")
        time.sleep(0.05)


def claims(workers, attempt_id: int) -> int:
    """How many deliveries of this attempt won the claim (and so graded it), over every worker's log."""
    pattern = re.compile(rf"attempt {attempt_id}: grading submission ")
    return sum(len(pattern.findall(w.log_path.read_text())) for w in workers)


def assert_nothing_lost(submissions: list[Submission], *, errors: dict[str, int] | None = None) -> list[Attempt]:
    """Each submission: accepted with exactly one attempt that ended graded (every program here
    prints the right answer, so score 1.0) or in error with a message. `errors` maps a substring
    of the expected error messages to how many attempts must carry it; any other error fails."""
    attempts = []
    for submission in submissions:
        assert submission.status == Submission.Status.ACCEPTED, submission.message
        rows = list(Attempt.objects.filter(submission=submission))
        assert len(rows) == 1, f"submission {submission.id} has {len(rows)} attempts"
        attempts.append(rows[0])
    seen = dict.fromkeys(errors or {}, 0)
    for attempt in attempts:
        if attempt.status == Attempt.Status.GRADED:
            assert attempt.score == 1.0 and attempt.passed, attempt.message
            wait_until(lambda a=attempt: Credential.objects.filter(attempt=a).count() == 1, 10,  # issued just after
                       f"the credential of attempt {attempt.pk}")
            continue
        assert attempt.status == Attempt.Status.ERROR, f"attempt {attempt.pk} still {attempt.status}"
        assert attempt.message, f"attempt {attempt.pk} failed without a reason"
        expected = [key for key in seen if key in attempt.message]
        assert expected, f"attempt {attempt.pk}: unexpected error {attempt.message!r}"
        seen[expected[0]] += 1
    assert seen == (errors or {}), f"errors by reason {seen}, expected {errors}"
    return attempts


def orphans(docker_client=None, *, since: float) -> list[str]:
    """Sandboxes that outlived their run: sandbox processes (bwrap, or the sandbox users 1001 and
    1002) re-parented to init that started during this test (time.time() at its start; other
    engineers' runs on this machine are older or have live parents), and Docker sandboxes
    (labelled) on the given engine."""
    out = subprocess.run(["ps", "-eo", "ppid=,uid=,stat=,etimes=,pid=,comm="], capture_output=True, text=True).stdout
    young = time.time() - since + 1
    left = [line.strip() for line in out.splitlines()
            if line.split()[0] == "1" and not line.split()[2].startswith("Z") and int(line.split()[3]) <= young
            and (line.split()[1] in ("1001", "1002") or line.split()[5] == "bwrap")]
    if docker_client is not None:
        from sandbox import docker_backend

        for container in docker_client.containers.list(all=True, filters={"label": docker_backend.LABEL}):
            left.append(f"container {container.short_id} {container.status} of {container.labels.get(docker_backend.OWNER)}")
    return left


@pytest.fixture(name="started")
def fixture_started() -> float:
    return time.time()


@pytest.fixture(name="lab")
def fixture_lab(settings, env, transactional_db) -> Lab:
    settings.SKILLFORGE_DATA_DIR = Path(env["SKILLFORGE_DATA_DIR"])
    settings.SKILLFORGE_SANDBOX = env["SKILLFORGE_SANDBOX"]
    import_labs(path=FIXTURES / "labs")
    return Lab.objects.get(slug="tiny-answer")


@pytest.fixture(name="ada")
def fixture_ada(lab):
    return create_account(username="ada", password="correct-horse-battery-staple", role="learner")


@contextlib.contextmanager
def running_workers(worker_env: dict[str, str], tmp_path: Path, *names: str) -> Iterator[list[subprocess.Popen]]:
    workers: list[subprocess.Popen] = []
    try:
        for name in names:
            workers.append(start_worker(worker_env, tmp_path / f"{name}.log", name=name))
        yield workers
    finally:
        for worker in workers:
            stop_worker(worker)

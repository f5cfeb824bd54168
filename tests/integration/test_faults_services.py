"""Nothing lost when the services under the workers fail: real Celery workers grading for
real while this test restarts Redis, restarts PostgreSQL, stops the Docker engine, fills
the submissions disk, and delivers one attempt twice to two workers at once.

Every test touches only services it started itself: a Redis on its own port (the broker
of every test here, so no other worker on this machine can take these messages), a
throwaway PostgreSQL cluster in a temporary folder, a second dockerd with its own data
root and socket, and a tmpfs mount. Each is stopped and removed even when the test
fails. Each test asserts that every submission ends graded or as an error whose message
says why, with one attempt per submission and one stored grade per attempt, and that no
sandbox outlives its run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import InterfaceError, OperationalError, connection
from workers import FIXTURES, REPO, start_worker, stop_worker

from accounts.services import create_account, issue_token
from catalog.models import Lab
from catalog.services import import_labs
from credentials.models import Credential
from submissions import services
from submissions.models import Attempt, Submission
from submissions.reconcile import reconcile

pytestmark = [pytest.mark.services, pytest.mark.slow]

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


@pytest.fixture(scope="module")
def broker(worker_env, tmp_path_factory) -> Iterator[OwnRedis]:
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


@pytest.fixture(scope="module")
def env(worker_env, broker) -> dict[str, str]:
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


@pytest.fixture
def started() -> float:
    return time.time()


@pytest.fixture
def lab(settings, env, transactional_db) -> Lab:
    settings.SKILLFORGE_DATA_DIR = Path(env["SKILLFORGE_DATA_DIR"])
    settings.SKILLFORGE_SANDBOX = env["SKILLFORGE_SANDBOX"]
    import_labs(path=FIXTURES / "labs")
    return Lab.objects.get(slug="tiny-answer")


@pytest.fixture
def ada(lab):
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


# --- Redis restarts -------------------------------------------------------------------------


def test_redis_restart_mid_run(env, broker, ada, lab, transactional_db, tmp_path, settings, started):
    """Redis (no persistence) restarts while one attempt is graded and three wait in it: the
    running one is stored, the worker reconnects, a submission made while Redis is down ends
    as an error that says so, and the reconciler requeues the three whose messages died."""
    with running_workers(env, tmp_path, "redis") as workers:
        before = [submit(ada, lab, SLOW.format(1.5)) for _ in range(4)]
        running = attempt_of(before[0])
        wait_for(running, ("running",), 30, workers)
        broker.stop()
        during = submit(ada, lab)  # the broker refuses it: recorded as an error, nothing queued
        broker.start()
        wait_for(running, ("graded", "error"), 30, workers)
        after = [submit(ada, lab) for _ in range(2)]
        for submission in after:
            wait_for(attempt_of(submission), ("graded", "error"), 60, workers)
        lost = [attempt_of(s) for s in before[1:]]
        assert [status(a) for a in lost] == ["queued"] * 3  # their messages went with the old Redis
        # As beat would run it ten minutes on; with the deadline shortened rather than the clock
        # moved, since a moved clock would also take the attempt a worker claims meanwhile as stuck.
        settings.SKILLFORGE_QUEUED_DEADLINE = 1
        outcome = reconcile()
        assert sorted(outcome.requeued) == sorted(lost)
        for attempt_id in lost:
            wait_for(attempt_id, ("graded", "error"), 60, workers)
        attempts = assert_nothing_lost([*before, during, *after], errors={services.QUEUE_DOWN: 1})
        for attempt in attempts:
            assert claims(workers, attempt.pk) == (1 if attempt.status == "graded" else 0)
    assert orphans(since=started) == []


# --- PostgreSQL restarts -----------------------------------------------------------------------


class OwnPostgres:
    """A throwaway cluster: Debian's initdb and pg_ctl as the postgres user, in a folder of its
    own under /tmp (the postgres user cannot enter pytest's root-only temporary folders)."""

    def __init__(self) -> None:
        import pwd

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
        if not bins:
            _missing("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to start a throwaway cluster",
                     "REQUIRE_SERVICES")
        if os.geteuid() != 0:
            _missing("a throwaway PostgreSQL cluster runs as the postgres user, which needs root here", "REQUIRE_SERVICES")
        try:
            self.uid = pwd.getpwnam("postgres").pw_uid
        except KeyError:
            _missing("no postgres user to run a throwaway cluster as", "REQUIRE_SERVICES")
        self.bin = bins[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="sf-pg-"))
        os.chown(self.folder, self.uid, -1)
        self.port = free_port()

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, user="postgres", cwd=self.folder, capture_output=True, text=True, timeout=60)
        if done.returncode:
            log = self.folder / "log"
            pytest.fail(f"{' '.join(command)}: {done.stdout}{done.stderr}{log.read_text() if log.exists() else ''}")

    def init(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-o", options, "-l",
                  str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def copy_schema(self, source_url: str, database: str) -> str:
        """A database here with the schema of source_url (the migrated test database)."""
        self._run(str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database)
        dump = subprocess.run([str(self.bin / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", source_url],
                              capture_output=True, check=True, timeout=60).stdout
        subprocess.run([str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url(database)], input=dump,
                       capture_output=True, check=True, timeout=60)
        return self.url(database)

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def default_database(url: str) -> Iterator[None]:
    """This process's ORM on another database for a while (pytest-django's stays untouched)."""
    import dj_database_url

    target = dj_database_url.parse(url)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update({key: target[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def test_postgres_restart_mid_run(env, broker, transactional_db, tmp_path, settings, started):
    """PostgreSQL restarts while an attempt is graded and two wait: the worker stores the
    running one's grade once the database is back and grades the others."""
    pg = OwnPostgres()
    try:
        pg.init()
        pg.start()
        url = pg.copy_schema(env["DATABASE_URL"], "skillforge")
        with default_database(url):
            settings.SKILLFORGE_DATA_DIR = Path(env["SKILLFORGE_DATA_DIR"])
            import_labs(path=FIXTURES / "labs")
            lab = Lab.objects.get(slug="tiny-answer")
            ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
            with running_workers({**env, "DATABASE_URL": url}, tmp_path, "pg") as workers:
                submissions = [submit(ada, lab, SLOW.format(1.5)) for _ in range(3)]
                ids = [attempt_of(s) for s in submissions]
                wait_for(ids[0], ("running",), 30, workers)
                pg.stop()  # the worker's connection, opened at the claim, dies with it
                time.sleep(0.5)
                pg.start()
                connection.close()  # ours died too
                for attempt_id in ids:
                    wait_for(attempt_id, ("graded", "error"), 30, workers)
                attempts = assert_nothing_lost(submissions)
                for attempt in attempts:
                    assert claims(workers, attempt.pk) == 1
                assert f"attempt {ids[0]}: the database did not answer" in workers[0].log_path.read_text()
    finally:
        pg.remove()
    assert orphans(since=started) == []


# --- the Docker engine stops -----------------------------------------------------------------------


class OwnDockerd:
    """A second, throwaway Docker engine: its own data root, exec root, pid file and socket,
    no bridge and no iptables rules, so it shares nothing with the machine's engine."""

    def __init__(self) -> None:
        if os.geteuid() != 0 or shutil.which("dockerd") is None:
            _missing("a second Docker engine needs dockerd and root", "REQUIRE_DOCKER")
        self.root = Path(tempfile.mkdtemp(prefix="sfd-"))  # short: containerd's socket lives under it
        self.host = f"unix://{self.root}/docker.sock"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["dockerd", "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
                   "--pidfile", str(self.root / "docker.pid"), "-H", self.host, "--bridge=none", "--iptables=false",
                   "--ip6tables=false", "--shutdown-timeout=2"]
        with open(self.root / "dockerd.log", "a") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = (self.root / "dockerd.log").read_text()[-3000:]
                self.stop()
                _missing(f"a second Docker engine could not start here:\n{tail}", "REQUIRE_DOCKER")
            time.sleep(0.2)

    def client(self):
        import docker

        return docker.DockerClient(base_url=self.host, timeout=60)

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def import_lab_image(self) -> None:
        """The lab image from the rootfs the build wrote, as `python -m sandbox.images.build --docker`
        imports it, less the third-party packages (368 MB) the fixture lab never imports."""
        if not ROOTFS.is_dir():
            pytest.fail("the lab image is not built: run python -m sandbox.images.build lab-python")
        tar = subprocess.Popen(["tar", "-C", str(ROOTFS), "--exclude=./usr/local/lib/python3.11/dist-packages",
                                "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        self.client().api.import_image_from_stream(tar.stdout, repository="skillforge/lab-python", tag="latest")
        assert tar.wait() == 0

    def stop(self, wait: bool = True) -> None:
        """SIGTERM, as a host shutting the engine down: its API goes at once, then it stops its
        containers (10 s for each one's idle PID 1, then SIGKILL) and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            if not wait:
                return
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
            for mount in sorted((m for m in mounts if m.startswith(str(self.root))), key=len, reverse=True):
                subprocess.run(["umount", "-l", mount], check=False)
            shutil.rmtree(self.root, ignore_errors=True)


def test_docker_engine_stops_mid_run(env, broker, ada, lab, tmp_path, monkeypatch, started):
    """The engine a worker's sandboxes run on stops while one grades: that attempt goes back to
    the queue (not the learner's error) and, once the engine is back, the same worker grades it,
    exactly once (its pool drops the sandbox that died). One sent while the engine stays down
    past the retries (SKILLFORGE_MAX_REQUEUES, with back-off) ends as an error worded for the
    learner. No container outlives it."""
    engine = OwnDockerd()
    try:
        engine.start()
        engine.import_lab_image()
        docker_env = {**env, "DOCKER_HOST": engine.host, "SKILLFORGE_SANDBOX": "docker", "SKILLFORGE_POOL_SIZE": "1",
                      "SKILLFORGE_MAX_REQUEUES": "2"}
        with running_workers(docker_env, tmp_path, "docker") as workers:
            warm = submit(ada, lab)
            wait_for(attempt_of(warm), ("graded", "error"), 60, workers)
            mid = submit(ada, lab, SLOW.format(2.5))
            wait_for(attempt_of(mid), ("running",), 30, workers)
            time.sleep(1.0)  # inside the learner's program
            engine.stop(wait=False)
            wait_for(attempt_of(mid), ("queued",), 30, workers)  # back in the queue, waiting out its back-off
            assert Attempt.objects.get(pk=attempt_of(mid)).message == services.RETRYING
            engine.stop()
            engine.start()  # within the back-offs (5 s, then 15 s): the next delivery grades it
            wait_for(attempt_of(mid), ("graded", "error"), 60, workers)
            engine.stop(wait=False)  # its API goes at once; it finishes stopping while the retries run
            down = submit(ada, lab)  # tried 3 times over ~20 s, then stopped with a reason
            wait_for(attempt_of(down), ("graded", "error"), 60, workers)
            engine.stop()
            engine.start()
            back = submit(ada, lab)
            wait_for(attempt_of(back), ("graded", "error"), 60, workers)
            attempts = assert_nothing_lost([warm, mid, down, back], errors={services.SANDBOX_DOWN: 1})
            assert [a.status for a in attempts] == ["graded", "graded", "error", "graded"]
            interrupted, refused = attempts[1], attempts[2]
            assert interrupted.requeues in (1, 2) and refused.requeues == 2
            # Every delivery claimed it; only the last one stored an outcome (one grade, one credential).
            assert claims(workers, interrupted.pk) == interrupted.requeues + 1
            assert claims(workers, refused.pk) == 3
            log = workers[0].log_path.read_text()
            assert f"attempt {interrupted.pk}: back in the queue (requeue 1 of 2)" in log
            assert f"attempt {refused.pk}: the sandbox failed (SandboxUnavailable" in log  # the detail is logged
        # The interrupted run's container could not be removed while the engine was down; it
        # is left exited (no process, only its files) until a worker on this host starts and
        # sweeps the sandboxes of dead workers, as this does:
        left = orphans(engine.client(), since=started)
        assert len(left) <= 1 and all(" exited of " in c for c in left), left
        from sandbox import docker_backend

        monkeypatch.setenv("DOCKER_HOST", engine.host)
        assert docker_backend.sweep_orphans() == len(left)
        assert orphans(engine.client(), since=started) == []
    finally:
        engine.remove()


# --- the submissions disk is full ------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(size: str = "4m") -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="sf-disk-"))
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                                 capture_output=True, text=True)
        if mounted.returncode:
            _missing(f"cannot mount a small tmpfs for a full disk here: {mounted.stderr.strip()}", "REQUIRE_SERVICES")
        try:
            yield folder
        finally:
            if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(folder)], check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as out:
        with contextlib.suppress(OSError):  # ENOSPC: that is the point
            while True:
                out.write(b"\0" * 65536)
                out.flush()
    return filler


def test_disk_full_rejects_with_a_message(env, broker, transactional_db, tmp_path, settings, client, started):
    """With the submissions disk full a submission is recorded as rejected with a message that
    says so (the API answers 400, never 500), one accepted before still gets its grade, and
    once there is room again submissions are graded."""
    with small_disk() as disk:
        settings.SKILLFORGE_DATA_DIR = disk
        settings.SKILLFORGE_SANDBOX = env["SKILLFORGE_SANDBOX"]
        import_labs(path=FIXTURES / "labs")
        lab = Lab.objects.get(slug="tiny-answer")
        ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
        _, token = issue_token(user=ada, name="faults")
        with running_workers({**env, "SKILLFORGE_DATA_DIR": str(disk)}, tmp_path, "disk") as workers:
            first = submit(ada, lab)
            wait_for(attempt_of(first), ("graded", "error"), 30, workers)
            wait_until(lambda: Credential.objects.exists(), 10, "the first credential")  # the issuer's keys are on disk
            before = submit(ada, lab, SLOW.format(1.0))
            filler = fill(disk)
            response = client.post("/api/labs/tiny-answer/submissions", {"files": {"main.py": RIGHT}},
                                   content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == 400, response.content
            assert "disk" in response.json()["detail"]
            during = submit(ada, lab)
            assert during.status == Submission.Status.REJECTED and "disk" in during.message
            assert not during.attempts.exists()
            wait_for(attempt_of(before), ("graded", "error"), 30, workers)
            filler.unlink()
            after = submit(ada, lab)
            wait_for(attempt_of(after), ("graded", "error"), 30, workers)
            assert_nothing_lost([first, before, after])
            rejected = Submission.objects.filter(status=Submission.Status.REJECTED)
            assert rejected.count() == 2 and all("disk" in s.message for s in rejected)
    assert orphans(since=started) == []


# --- one attempt delivered twice ---------------------------------------------------------------------


def test_same_attempt_delivered_twice_grades_once(env, broker, ada, lab, tmp_path, started):
    """Two idle workers and each attempt's task sent twice at once: each worker takes one
    delivery; the claim lets exactly one grade and the other does nothing."""
    from submissions.tasks import grade_attempt

    with running_workers(env, tmp_path, "twin-a", "twin-b") as workers:
        submissions, ids = [], []
        for _ in range(3):
            submission = submit(ada, lab, SLOW.format(1.0))  # its task is sent on commit
            attempt_id = attempt_of(submission)
            grade_attempt.apply_async(args=[attempt_id], queue="cpu")  # and again, at once
            submissions.append(submission)
            ids.append(attempt_id)
            wait_for(attempt_id, ("graded", "error"), 30, workers)
            wait_until(lambda a=attempt_id: duplicates(workers, a) == 1, 10, f"the second delivery of attempt {attempt_id}")
        assert_nothing_lost(submissions)
        for attempt_id in ids:
            winners = [w for w in workers if claims([w], attempt_id)]
            losers = [w for w in workers if duplicates([w], attempt_id)]
            assert len(winners) == 1 and claims(workers, attempt_id) == 1
            assert len(losers) == 1 and losers != winners  # the two deliveries ran on the two workers
        assert all(Attempt.objects.get(pk=a).requeues == 0 for a in ids)
    assert orphans(since=started) == []


def duplicates(workers, attempt_id: int) -> int:
    line = f"attempt {attempt_id}: not queued any more (a duplicate delivery?)"
    return sum(w.log_path.read_text().count(line) for w in workers)

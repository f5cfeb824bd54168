"""Nothing lost when the services under the workers fail: real Celery workers grading for
real while this test restarts Redis and restarts PostgreSQL (test_faults_sandbox.py: the
Docker engine, a full disk, one attempt delivered twice; faults_support.py: what they share).

Every test touches only services it started itself: a Redis on its own port (the broker
of every test here, so no other worker on this machine can take these messages) and a
throwaway PostgreSQL cluster in a temporary folder. Each is stopped and removed even when
the test fails. Each test asserts that every submission ends graded or as an error whose message
says why, with one attempt per submission and one stored grade per attempt, and that no
sandbox outlives its run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from faults_support import (  # noqa: F401 - fixtures, requested by name
    SLOW,
    _missing,
    assert_nothing_lost,
    attempt_of,
    claims,
    fixture_ada,
    fixture_broker,
    fixture_env,
    fixture_lab,
    fixture_started,
    free_port,
    orphans,
    running_workers,
    status,
    submit,
    wait_for,
)
from workers import FIXTURES

from accounts.services import create_account
from catalog.models import Lab
from catalog.services import import_labs
from submissions import services
from submissions.reconcile import reconcile

pytestmark = [pytest.mark.services, pytest.mark.slow]



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

"""Nothing lost when what runs the sandboxes fails: real Celery workers grading for real
while this test stops the Docker engine, fills the submissions disk, and delivers one
attempt twice to two workers at once. Like test_faults_services.py, every test touches
only what it started itself (a second dockerd with its own data root and socket, a tmpfs
mount, a Redis on its own port) and asserts that every submission ends graded or as an
error whose message says why, once, with no sandbox left behind.
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
from faults_support import (  # noqa: F401 - fixtures, requested by name
    RIGHT,
    ROOTFS,
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
    orphans,
    running_workers,
    status,
    submit,
    wait_for,
    wait_until,
)
from workers import FIXTURES

from accounts.services import create_account, issue_token
from catalog.models import Lab
from catalog.services import import_labs
from credentials.models import Credential
from submissions import services
from submissions.models import Attempt, Submission

pytestmark = [pytest.mark.services, pytest.mark.slow]


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

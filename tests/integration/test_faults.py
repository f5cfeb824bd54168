"""Nothing lost: real Celery workers on Redis and the test database (PostgreSQL), killed
with SIGKILL in the middle of grading, again and again.

Each round starts a worker, submits a program that takes a second and a half, waits
until the attempt is running, SIGKILLs the worker, and lets the reconciler (called here
with the clock moved past the lab's wall limit plus margin, as beat would run it later)
put the attempt back in the queue; the next round's worker grades it. Every attempt
must end graded, with one grade, and nothing may be left behind (no sandbox processes,
no containers). SF_KILL_ROUNDS sets the rounds (20; bench/kill_workers.py runs 100).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from workers import FIXTURES, start_worker

from accounts.services import create_account
from catalog.models import Lab
from catalog.services import import_labs
from submissions import services
from submissions.models import Attempt
from submissions.reconcile import reconcile

pytestmark = [pytest.mark.services, pytest.mark.slow]

SLOW_BUT_RIGHT = "import time\ntime.sleep(1.5)\nprint(42)\n"
ROUNDS = int(os.environ.get("SF_KILL_ROUNDS", "20"))


def wait_for(attempt_id: int, statuses: tuple[str, ...], timeout: float, worker=None) -> Attempt:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt = Attempt.objects.get(pk=attempt_id)
        if attempt.status in statuses:
            return attempt
        time.sleep(0.05)
    log = worker.log_path.read_text()[-3000:] if worker is not None else ""
    pytest.fail(f"attempt {attempt_id} still {Attempt.objects.get(pk=attempt_id).status} after {timeout} s\n{log}")


def sandbox_leftovers(worker_pids: set[int]) -> list[str]:
    """What the killed workers left running: orphaned sandbox processes (re-parented to
    init), and Docker sandboxes labelled with a dead worker's pid. Other tests' live
    sandboxes on this machine have live parents and other owners."""
    out = subprocess.run(["ps", "-eo", "ppid=,uid=,stat=,pid=,args="], capture_output=True, text=True).stdout
    left = [line.strip() for line in out.splitlines()  # zombies (Z) run nothing: this init reaps lazily
            if line.split()[0] == "1" and not line.split()[2].startswith("Z")
            and (line.split()[1] in ("1001", "1002") or "bwrap" in line)]
    try:
        from sandbox import docker_backend

        for container_id, owner in docker_backend.sandboxes().items():
            if owner.rsplit(":", 1)[-1].isdigit() and int(owner.rsplit(":", 1)[-1]) in worker_pids:
                left.append(f"container {container_id[:12]} of {owner}")
    except Exception:  # no engine here: nothing of Docker's can be left
        pass
    return left


def test_workers_killed_mid_grade_lose_nothing(worker_env, transactional_db, tmp_path, settings):
    from skillforge.celery import app

    app.control.purge()
    settings.SKILLFORGE_DATA_DIR = Path(worker_env["SKILLFORGE_DATA_DIR"])  # where the workers read files
    settings.SKILLFORGE_SANDBOX = worker_env["SKILLFORGE_SANDBOX"]
    import_labs(path=FIXTURES / "labs")
    lab = Lab.objects.get(slug="tiny-answer")
    wall = lab.current_version.load_spec().limits.wall_seconds
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
    rng = random.Random(7)
    attempts: list[int] = []
    killed_mid_grade = 0
    killed_at: dict[int, float] = {}
    recovery: list[float] = []
    pending: int | None = None
    worker_pids: set[int] = set()
    for round_ in range(ROUNDS + 1):
        worker = start_worker(worker_env, tmp_path / f"worker-{round_}.log", name=f"kill{round_}")
        worker_pids.add(worker.pid)
        try:
            if pending is not None:  # the previous round's attempt, requeued: this worker grades it
                done = wait_for(pending, ("graded", "error"), 60, worker)
                recovery.append(time.monotonic() - killed_at[pending])
                assert done.status == "graded", done.message
                pending = None
            if round_ == ROUNDS:
                break
            submission = services.submit(learner=ada, lab=lab, intake=services.Intake(
                source="api_files", files={"main.py": SLOW_BUT_RIGHT}))
            attempt_id = submission.latest_attempt.pk
            attempts.append(attempt_id)
            wait_for(attempt_id, ("running", "graded", "error"), 60, worker)
            time.sleep(rng.uniform(0.0, 1.0))  # somewhere inside the grading
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
        killed_at[attempt_id] = time.monotonic()
        outcome = reconcile(now=timezone.now() + timedelta(seconds=wall + settings.SKILLFORGE_RUNNING_MARGIN + 1))
        if attempt_id in outcome.requeued:
            killed_mid_grade += 1
            pending = attempt_id
        else:  # it finished just before the kill
            assert Attempt.objects.get(pk=attempt_id).status == "graded"
    final = Attempt.objects.filter(pk__in=attempts)
    assert final.count() == ROUNDS  # one attempt per submission: none lost, none duplicated
    assert set(final.values_list("status", flat=True)) == {"graded"}
    assert set(final.values_list("score", flat=True)) == {1.0}
    assert all(a.requeues <= 1 for a in final)
    assert killed_mid_grade >= ROUNDS * 0.6, f"only {killed_mid_grade} of {ROUNDS} kills landed mid-grade"
    time.sleep(1.0)  # bwrap --die-with-parent: a dead worker's sandbox is killed at once;
    assert sandbox_leftovers(worker_pids) == []  # Docker's are swept by the next worker
    p95 = sorted(recovery)[max(0, round(0.95 * len(recovery)) - 1)] if recovery else 0.0
    print(f"\nkill rounds {ROUNDS}: submissions {ROUNDS}, killed mid-grade {killed_mid_grade}, lost 0, duplicated 0, "
          f"recovery (kill -> graded, incl. worker start) median {statistics.median(recovery or [0]):.2f} s, "
          f"p95 {p95:.2f} s")

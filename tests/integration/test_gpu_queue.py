"""The gpu queue through real workers: a worker without GPUs never takes a GPU job, which
waits queued (with its position) until a worker with a device takes it, claims the
device for the job's duration and releases it. Devices are "fake:" ids (no GPU here;
see submissions/gpus.py); the real pass-through runs on the lent GPU machine."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from workers import FIXTURES, start_worker, stop_worker

from accounts.services import create_account
from catalog.models import Lab
from catalog.services import import_labs
from submissions import gpus, services
from submissions.models import Attempt, GpuClaim

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_for(attempt_id: int, statuses: tuple[str, ...], timeout: float) -> Attempt:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt = Attempt.objects.get(pk=attempt_id)
        if attempt.status in statuses:
            return attempt
        time.sleep(0.1)
    pytest.fail(f"attempt {attempt_id} still {Attempt.objects.get(pk=attempt_id).status} after {timeout} s")


def test_gpu_jobs_wait_for_a_gpu_worker_and_claim_one_device(worker_env, transactional_db, tmp_path, settings):
    from skillforge.celery import app

    app.control.purge()
    settings.SKILLFORGE_DATA_DIR = Path(worker_env["SKILLFORGE_DATA_DIR"])
    import_labs(path=FIXTURES / "labs")
    import_labs(path=FIXTURES / "gpu-labs")
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")

    def submit(slug: str) -> int:
        submission = services.submit(learner=ada, lab=Lab.objects.get(slug=slug), intake=services.Intake(
            source="api_files", files={"main.py": "print(42)\n"}))
        return submission.latest_attempt.pk

    cpu_worker = start_worker({**worker_env, "SKILLFORGE_GPUS": ""}, tmp_path / "cpu.log", name="cpu")
    try:
        gpu_jobs = [submit("tiny-gpu"), submit("tiny-gpu")]
        cpu_job = submit("tiny-answer")
        assert wait_for(cpu_job, ("graded", "error"), 60).status == "graded"
        time.sleep(2)  # a CPU worker had every chance to take the GPU jobs, and must not
        assert [Attempt.objects.get(pk=a).status for a in gpu_jobs] == ["queued", "queued"]
        assert [gpus.queue_position(a, "gpu") for a in gpu_jobs] == [1, 2]
    finally:
        stop_worker(cpu_worker)
    gpu_worker = start_worker({**worker_env, "SKILLFORGE_GPUS": "fake:7"}, tmp_path / "gpu.log", name="gpu")
    try:
        for attempt_id in gpu_jobs:
            done = wait_for(attempt_id, ("graded", "error"), 60)
            assert done.status == "graded" and done.score == 1.0, done.message
    finally:
        stop_worker(gpu_worker)
    log = (tmp_path / "gpu.log").read_text()
    assert all(f"attempt {a}: claimed GPU fake:7" in log for a in gpu_jobs)
    assert not GpuClaim.objects.exists()  # released after each job

"""The gpu queue through real workers: a worker without GPUs never takes a GPU job, which
waits queued (with its position) until a worker with a device takes it, claims the
device for the job's duration and releases it. A lab with gpu = "optional" goes to the
gpu queue only while a GPU worker's heartbeat is live, else to cpu, and its attempts keep
that queue through requeues. Devices are "fake:" ids: a fake device stands in for an
absent GPU (none exists here; see submissions/gpus.py), so it is claimed like a real one
but not passed into the sandbox, which therefore says SKILLFORGE_DEVICE=cpu. The real
pass-through runs on the lent GPU machine."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from workers import FIXTURES, start_worker, stop_worker

from accounts.services import create_account
from catalog.models import Lab
from catalog.services import import_labs
from submissions import gpus, progress, services
from submissions import reconcile as reconciler
from submissions.models import Attempt, GpuClaim, GpuWorker

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
        assert [progress.queue_position(Attempt.objects.get(pk=a), "gpu") for a in gpu_jobs] == [1, 2]
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


# --- gpu = "optional" ------------------------------------------------------------------------


def optional_labs(root: Path) -> Path:
    """tiny-gpu made optional, its driver also reporting the device the sandbox was told of."""
    lab = root / "optional-labs" / "tiny-optional"
    shutil.copytree(FIXTURES / "gpu-labs" / "tiny-gpu", lab)
    toml = (lab / "lab.toml").read_text()
    assert 'slug = "tiny-gpu"\ngpu = true\n' in toml
    (lab / "lab.toml").write_text(toml.replace('slug = "tiny-gpu"\ngpu = true\n', 'slug = "tiny-optional"\ngpu = "optional"\n'))
    driver = lab / "checks" / "driver" / "driver.py"
    driver.write_text("import os\n" + driver.read_text().replace(
        '"printed_bytes": len(run.stdout)}', '"printed_bytes": len(run.stdout), '
                                            '"sandbox_device": os.environ.get("SKILLFORGE_DEVICE", "unset")}'))
    with open(lab / "checks" / "checks.toml", "a") as fh:
        fh.write('\n[[check]]\nid = "device"\nname = "Told its device"\nobserve = "sandbox_device"\nop = "!="\n'
                 'threshold = "unset"\n')
    return lab.parent


@pytest.fixture
def optional_lab(settings, tmp_path) -> Lab:
    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    settings.SKILLFORGE_GPU_CLAIM_TTL = 60
    import_labs(path=optional_labs(tmp_path))
    return Lab.objects.get(slug="tiny-optional")


@pytest.fixture
def fake_gpu_worker(settings):
    """This process's settings as a GPU worker's: three fake devices (no GPU exists here)."""
    settings.SKILLFORGE_GPUS = "fake:0,fake:1,fake:2"
    gpus.devices.cache_clear()
    yield
    gpus.devices.cache_clear()


def submit_quietly(lab: Lab, learner, capture) -> Attempt:
    """submit() as a view calls it, with the enqueue on commit recorded instead of sent."""
    with capture(execute=False):
        submission = services.submit(learner=learner, lab=lab, intake=services.Intake(
            source="api_files", files={"main.py": "print(42)\n"}))
    return submission.latest_attempt


@pytest.mark.django_db
def test_an_optional_gpu_lab_goes_to_gpu_only_while_a_gpu_worker_is_alive(
        require_postgres, optional_lab, fake_gpu_worker, django_capture_on_commit_callbacks):
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
    assert optional_lab.current_version.queue == "cpu"  # the fallback is what the version records
    assert submit_quietly(optional_lab, ada, django_capture_on_commit_callbacks).queue == "cpu"  # no GPU worker
    gpus.beat()  # a fake-GPU worker says it is alive
    assert GpuWorker.objects.get().devices == 3
    assert gpus.gpu_worker_alive()
    assert submit_quietly(optional_lab, ada, django_capture_on_commit_callbacks).queue == "gpu"
    GpuWorker.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # it stopped beating a TTL ago
    assert submit_quietly(optional_lab, ada, django_capture_on_commit_callbacks).queue == "cpu"
    gpus.beat(0)  # alive, but a worker without devices serves no GPU job
    assert submit_quietly(optional_lab, ada, django_capture_on_commit_callbacks).queue == "cpu"
    gpus.beat()
    gpus.forget()  # a warm shutdown removes the row at once
    assert not GpuWorker.objects.exists()


@pytest.mark.django_db
def test_a_requeue_uses_the_attempts_own_queue(require_postgres, optional_lab, fake_gpu_worker, settings,
                                                monkeypatch, django_capture_on_commit_callbacks):
    settings.SKILLFORGE_QUEUED_DEADLINE, settings.SKILLFORGE_MAX_REQUEUES = 600, 3
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(reconciler, "enqueue", lambda *, attempt_id, queue: sent.append((attempt_id, queue)))
    import_labs(path=FIXTURES / "labs")
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
    gpus.beat()
    on_gpu = submit_quietly(optional_lab, ada, django_capture_on_commit_callbacks)
    on_cpu = submit_quietly(Lab.objects.get(slug="tiny-answer"), ada, django_capture_on_commit_callbacks)
    assert (on_gpu.queue, on_cpu.queue) == ("gpu", "cpu")
    t0 = max(on_gpu.queued_at, on_cpu.queued_at)
    # While the GPU worker lives, a lost message goes back to the attempt's own queue, not the
    # lab version's (cpu for an optional lab).
    gpus.beat()
    assert sorted(reconciler.reconcile(now=t0 + timedelta(seconds=601)).requeued) == sorted([on_gpu.pk, on_cpu.pk])
    assert sorted(sent) == sorted([(on_gpu.pk, "gpu"), (on_cpu.pk, "cpu")])
    # Once no GPU worker is alive, the optional lab's attempt falls back to cpu, and says so.
    gpus.forget()
    sent.clear()
    assert sorted(reconciler.reconcile(now=t0 + timedelta(seconds=1202)).requeued) == sorted([on_gpu.pk, on_cpu.pk])
    assert sorted(sent) == sorted([(on_gpu.pk, "cpu"), (on_cpu.pk, "cpu")])
    assert Attempt.objects.get(pk=on_gpu.pk).queue == "cpu"


@pytest.mark.django_db
def test_a_gpu_labs_requeue_stays_on_gpu_without_gpu_workers(require_postgres, settings, tmp_path, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    settings.SKILLFORGE_DATA_DIR = tmp_path / "data"
    settings.SKILLFORGE_QUEUED_DEADLINE, settings.SKILLFORGE_MAX_REQUEUES = 600, 3
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(reconciler, "enqueue", lambda *, attempt_id, queue: sent.append((attempt_id, queue)))
    import_labs(path=FIXTURES / "gpu-labs")
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")
    attempt = submit_quietly(Lab.objects.get(slug="tiny-gpu"), ada, django_capture_on_commit_callbacks)
    assert attempt.queue == "gpu" and not gpus.gpu_worker_alive()
    assert reconciler.reconcile(now=attempt.queued_at + timedelta(seconds=601)).requeued == [attempt.pk]
    assert sent == [(attempt.pk, "gpu")]  # a lab that needs a GPU waits for one, visibly


def test_an_optional_gpu_lab_through_real_workers(worker_env, transactional_db, tmp_path, settings):
    """No GPU worker: graded on cpu. A worker with SKILLFORGE_GPUS=fake:3 (a fake device standing
    in for an absent GPU): its heartbeat routes the next attempt to gpu, where it claims fake:3;
    the sandbox gets no device and says cpu. After its warm shutdown: cpu again."""
    from skillforge.celery import app

    app.control.purge()
    settings.SKILLFORGE_DATA_DIR = Path(worker_env["SKILLFORGE_DATA_DIR"])
    import_labs(path=optional_labs(tmp_path))
    lab = Lab.objects.get(slug="tiny-optional")
    ada = create_account(username="ada", password="correct-horse-battery-staple", role="learner")

    def submit() -> int:
        submission = services.submit(learner=ada, lab=lab, intake=services.Intake(
            source="api_files", files={"main.py": "print(42)\n"}))
        return submission.latest_attempt.pk

    def device_seen(attempt: Attempt) -> str:
        return next(c["observed"] for c in attempt.report["checks"] if c["id"] == "device")

    cpu_worker = start_worker({**worker_env, "SKILLFORGE_GPUS": ""}, tmp_path / "cpu.log", name="cpu")
    try:
        first = submit()
        done = wait_for(first, ("graded", "error"), 60)
        assert (done.queue, done.status, done.score, device_seen(done)) == ("cpu", "graded", 1.0, "cpu"), done.message
        gpu_worker = start_worker({**worker_env, "SKILLFORGE_GPUS": "fake:3"}, tmp_path / "gpu.log", name="gpu")
        try:
            deadline = time.monotonic() + 10
            while not gpus.gpu_worker_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert GpuWorker.objects.get().devices == 1
            second = submit()
            done = wait_for(second, ("graded", "error"), 60)
            assert (done.queue, done.status, done.score, device_seen(done)) == ("gpu", "graded", 1.0, "cpu"), done.message
        finally:
            stop_worker(gpu_worker)
        assert not GpuWorker.objects.exists()  # the warm shutdown removed its heartbeat
        third = submit()
        done = wait_for(third, ("graded", "error"), 60)
        assert (done.queue, done.status) == ("cpu", "graded"), done.message
    finally:
        stop_worker(cpu_worker)
    assert f"attempt {second}: claimed GPU fake:3" in (tmp_path / "gpu.log").read_text()
    assert f"attempt {second}:" not in (tmp_path / "cpu.log").read_text()
    assert not GpuClaim.objects.exists()

"""The gpu queue's device claims (submissions/gpus.py), against the real database.

No GPU exists here: devices are named in SKILLFORGE_GPUS with the "fake:" prefix, which
the claim logic treats like real ones and which are never passed into a sandbox. The real
pass-through is proven on the GPU machine when one is lent (see the closing notes).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from graders import LabSpecError, load_lab
from sandbox import Limits, RunSpec, Termination, bwrap_backend
from submissions import gpus
from submissions.models import GpuClaim

pytestmark = pytest.mark.django_db(transaction=True)
GPU_LAB = Path(__file__).resolve().parents[1] / "integration" / "fixtures" / "gpu-labs" / "tiny-gpu"


@pytest.fixture
def two_gpus(settings):
    settings.SKILLFORGE_GPUS = "fake:0, fake:1"
    settings.SKILLFORGE_GPU_CLAIM_TTL = 60
    gpus.devices.cache_clear()
    yield ("fake:0", "fake:1")
    gpus.devices.cache_clear()


def test_devices_come_from_the_setting(two_gpus, settings):
    assert gpus.devices() == two_gpus
    settings.SKILLFORGE_GPUS = ""
    gpus.devices.cache_clear()
    assert gpus.devices() == ()
    assert gpus.passthrough("fake:0") == () and gpus.passthrough("GPU-1234") == ("GPU-1234",)


def test_each_job_gets_its_own_device_and_none_when_all_are_held(two_gpus):
    first, second = gpus.try_claim(None), gpus.try_claim(None)
    assert {first, second} == set(two_gpus)
    assert first is not None and gpus.try_claim(None) is None
    gpus.release(first)
    assert gpus.try_claim(None) == first


def test_concurrent_claims_never_share_a_device(two_gpus):
    got: list[str | None] = []
    barrier = threading.Barrier(6)

    def claim(i: int) -> None:
        from django.db import connection

        barrier.wait()
        got.append(gpus.try_claim(None))
        connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d for d in got if d) == list(two_gpus)  # two winners, one per device
    assert got.count(None) == 4


def test_a_dead_holders_claim_expires(two_gpus):
    assert gpus.try_claim(None, ("fake:0",)) == "fake:0"
    assert gpus.try_claim(None, ("fake:0",)) is None
    GpuClaim.objects.update(expires_at=timezone.now() - timedelta(seconds=1), holder="gone-host:1")
    assert gpus.try_claim(None, ("fake:0",)) == "fake:0"
    assert GpuClaim.objects.get().holder == gpus.holder()


def test_a_held_claim_is_renewed_and_released(two_gpus, settings):
    settings.SKILLFORGE_GPU_CLAIM_TTL = 6  # renewed every 2 s
    device = gpus.try_claim(None, ("fake:1",))
    assert device == "fake:1"
    first_expiry = GpuClaim.objects.get().expires_at
    with gpus.held(device):
        import time

        time.sleep(2.6)
        assert GpuClaim.objects.get().expires_at > first_expiry
    assert not GpuClaim.objects.exists()


def test_a_gpu_lab_routes_to_the_gpu_queue(tmp_path):
    lab = load_lab(GPU_LAB)
    assert lab.gpu and lab.queue == "gpu"
    bad = tmp_path / "bad"
    import shutil

    shutil.copytree(GPU_LAB, bad)
    (bad / "lab.toml").write_text((bad / "lab.toml").read_text().replace('gpu = true', 'gpu = true\nqueue = "cpu"'))
    with pytest.raises(LabSpecError, match="runs on the gpu queue"):
        load_lab(bad)


@pytest.mark.bubblewrap
def test_bubblewrap_refuses_a_gpu_sandbox_plainly():
    result = bwrap_backend.run(RunSpec(image="skillforge/lab-python", command=("true",), limits=Limits(),
                                       gpus=("GPU-0",)))
    assert result.termination is Termination.SANDBOX_ERROR
    assert "GPU sandboxes need the Docker backend" in result.message

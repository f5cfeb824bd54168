"""lab.toml's `gpu` key: false (the default), true (the gpu queue only) or "optional" (the
gpu queue while a GPU worker is alive, else cpu: see submissions/gpus.py `route`), and the
sandbox's device variables that follow from the devices a job was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import LabSpecError, load_lab
from graders.pipeline import run_spec

REPO = Path(__file__).resolve().parents[2]
LAB_TOML = """
slug = "tiny"
title = "Tiny"
summary = "A tiny lab"
version = "1"
[driver]
command = ["python3", "/grader/driver.py"]
"""
CHECKS_TOML = """
[[check]]
id = "count"
name = "Counts to three"
observe = "count"
threshold = 3
"""


def make_lab(root: Path, extra: str = "") -> Path:
    for folder in ("starter", "solution", "checks/driver"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "lab.toml").write_text(extra + LAB_TOML)
    (root / "brief.md").write_text("# Tiny\n")
    (root / "checks/checks.toml").write_text(CHECKS_TOML)
    return root


@pytest.mark.parametrize(("extra", "queue", "gpu", "optional"), [
    ("", "cpu", False, False),
    ("gpu = false\n", "cpu", False, False),
    ("gpu = true\n", "gpu", True, False),
    ('queue = "gpu"\n', "gpu", True, False),  # the older spelling of gpu = true
    ('gpu = "optional"\n', "cpu", False, True),
    ('gpu = "optional"\nqueue = "cpu"\n', "cpu", False, True),
])
def test_gpu_key(tmp_path, extra, queue, gpu, optional):
    lab = load_lab(make_lab(tmp_path, extra))
    assert (lab.queue, lab.gpu, lab.gpu_optional) == (queue, gpu, optional)


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ('gpu = "maybe"\n', "gpu", 'must be true, false or "optional", got \'maybe\''),
    ('gpu = "Optional"\n', "gpu", 'must be true, false or "optional", got \'Optional\''),
    ("gpu = 1\n", "gpu", 'must be true, false or "optional", got 1'),
    ('gpu = "optional"\nqueue = "gpu"\n', "queue", "falls back to the cpu queue"),
    ('gpu = true\nqueue = "cpu"\n', "queue", "runs on the gpu queue, not 'cpu'"),
])
def test_a_bad_gpu_key_names_the_file_and_key(tmp_path, extra, key, problem):
    make_lab(tmp_path, extra)
    with pytest.raises(LabSpecError) as err:
        load_lab(tmp_path)
    assert (err.value.file, err.value.key) == (tmp_path / "lab.toml", key)
    assert problem in err.value.problem
    assert str(err.value).startswith(f"{tmp_path / 'lab.toml'}: {key}: ")


def test_the_vector_db_lab_is_gpu_optional():
    lab = load_lab(REPO / "labs" / "vector-db")
    assert (lab.queue, lab.gpu, lab.gpu_optional) == ("cpu", False, True)


def test_the_sandbox_is_told_its_device(tmp_path):
    lab = load_lab(make_lab(tmp_path / "lab", 'gpu = "optional"\n'))
    cpu = run_spec(lab, tmp_path, tmp_path).env
    assert (cpu["SKILLFORGE_DEVICE"], cpu["CUDA_VISIBLE_DEVICES"]) == ("cpu", "")  # no CUDA device is visible
    # A passed-through device is the container's only GPU: index 0 inside, whatever its id outside.
    gpu = run_spec(lab, tmp_path, tmp_path, gpus=("GPU-5d6c",)).env
    assert (gpu["SKILLFORGE_DEVICE"], gpu["CUDA_VISIBLE_DEVICES"]) == ("cuda", "0")
    assert gpu["PYTHONPATH"] == "/grader"

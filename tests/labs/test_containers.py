"""The containers lab, proven end to end: real sandboxes and a real Docker engine.

- the lab is consistent: the hidden tickets' expected labels are what the shipped model
  answers, model.json is what data/make_model.py makes, every submission carries the
  same provided model, and the public tests use other tickets;
- the reference solution scores 1.0 on both sandbox backends, byte-identical on two runs
  (the image part is built and run by the host's engine whatever the backend);
- the starter and five plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail (the sandbox-side bugs on both backends);
- without a Docker engine the image checks say "needs Docker" instead of passing;
- the public tests pass on the solution and fail as expected on the others;
- nothing the inspector builds or starts is left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from graders import grade, load_lab
from graders.inspectors import container as inspector

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "containers"
WRONG_DIR = Path(__file__).resolve().parent / "containers"

SERVICE = {"predictions", "input_validation", "drain_readiness", "drain_inflight", "sigterm_exit"}
IMAGE = {"image_builds", "container_healthz", "container_readyz", "non_root", "graceful_stop", "image_size",
         "no_baked_secrets"}
MANIFESTS = {"manifests_valid", "probes", "resources", "rolling_update", "pod_disruption_budget", "autoscaler",
             "security_context"}
ALL_CHECKS = SERVICE | IMAGE | MANIFESTS

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # works on a laptop: root, shell-form CMD, .env baked in, no readiness, no validation,
    # dies on SIGTERM, manifests with none of the production settings
    "starter": ALL_CHECKS - {"predictions", "image_builds", "container_healthz", "image_size", "manifests_valid"},
    "wrong_root": {"non_root"},
    "wrong_shell_cmd": {"graceful_stop"},
    "wrong_exit_on_sigterm": {"drain_readiness", "drain_inflight"},
    "wrong_secrets": {"no_baked_secrets"},
    "wrong_manifests": {"probes", "resources", "pod_disruption_budget"},
}
# The image and the manifests are inspected on the host, the same whatever the sandbox:
# only the submissions whose bugs the driver sees are graded on both backends.
BOTH_BACKENDS = {"starter", "wrong_exit_on_sigterm"}

PUBLIC_TESTS = {
    "test_health_and_readiness", "test_predicts_a_batch", "test_rejects_malformed_requests", "test_drains_on_sigterm",
    "test_builds_from_the_platform_base_image", "test_runs_as_a_numeric_non_root_user",
    "test_cmd_is_exec_form_so_sigterm_reaches_python", "test_no_secret_files_reach_the_image",
    "test_manifests_are_valid_kubernetes", "test_probes", "test_requests_and_limits",
    "test_zero_downtime_rolling_update", "test_pod_disruption_budget", "test_horizontal_pod_autoscaler",
    "test_restrictive_security_context",
}
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_predicts_a_batch", "test_builds_from_the_platform_base_image",
                               "test_manifests_are_valid_kubernetes"},
    "wrong_root": {"test_runs_as_a_numeric_non_root_user"},
    "wrong_shell_cmd": {"test_cmd_is_exec_form_so_sigterm_reaches_python"},
    "wrong_exit_on_sigterm": {"test_drains_on_sigterm"},
    "wrong_secrets": {"test_no_secret_files_reach_the_image"},
    "wrong_manifests": {"test_probes", "test_requests_and_limits", "test_pod_disruption_budget"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


def hidden_tickets() -> list[str]:
    source = (LAB_DIR / "checks" / "driver" / "driver.py").read_text()
    start = source.index("TICKETS = [")
    namespace: dict = {}
    exec(source[start:source.index("]\n", start) + 2], namespace)  # the list literal only
    return namespace["TICKETS"]


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def model():
    sys.path.insert(0, str(LAB_DIR / "solution"))
    try:
        from model import TicketRouter
    finally:
        sys.path.remove(str(LAB_DIR / "solution"))
        sys.modules.pop("model", None)
    return TicketRouter.load(LAB_DIR / "solution" / "model.json")


@pytest.fixture
def engine(docker_runner):
    """Grading this lab builds images: without an engine the tests skip (or fail, REQUIRE_DOCKER=1)."""
    dc = inspector.client(60)
    yield dc
    ours = {"label": [inspector.LABEL, f"{inspector.OWNER}={socket.gethostname()}:{os.getpid()}"]}
    assert dc.api.containers(all=True, filters=ours) == [], "the inspector left a container behind"
    assert dc.api.images(filters=ours) == [], "the inspector left an image behind"


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "containers"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)  # every check is essential
    assert lab.inspector == "container"
    assert inspector.Options.from_mapping(lab.inspector_options).port == 8080
    assert all(c.explain for c in lab.checks)
    assert all((lab.starter_dir / name).is_file() for name in lab.editable)


def test_expected_labels_are_the_models_answers(lab, model):
    expected = json.loads((lab.expected_dir / "predictions.json").read_text())
    assert expected == [p["label"] for p in model.predict(hidden_tickets())]
    assert len(set(expected)) == 4  # every queue is exercised


def test_hidden_tickets_are_not_public():
    public = (LAB_DIR / "public_tests" / "test_service.py").read_text()
    assert not any(ticket in public for ticket in hidden_tickets())


def test_model_is_reproducible_and_shared(tmp_path):
    subprocess.run([sys.executable, str(LAB_DIR / "data" / "make_model.py"), str(tmp_path / "model.json")], check=True)
    made = (tmp_path / "model.json").read_bytes()
    folders = [LAB_DIR / "starter", LAB_DIR / "solution", *sorted(WRONG_DIR.glob("wrong_*"))]
    for folder in folders:
        assert (folder / "model.json").read_bytes() == made, folder
        assert (folder / "model.py").read_bytes() == (LAB_DIR / "solution" / "model.py").read_bytes(), folder


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner, engine):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
    assert first.run.wall_seconds < lab.limits.wall_seconds / 2
    second = grade(lab, submission("solution"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name, backend", [(n, "docker") for n in sorted(BELOW_BAR)]
                         + [(n, "bubblewrap") for n in sorted(BOTH_BACKENDS)])
def test_below_the_bar_with_the_expected_checks_failing(lab, request, engine, name, backend):
    runner = request.getfixturevalue("docker_runner" if backend == "docker" else "bwrap_runner")
    report = grade(lab, submission(name), runner=runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert all(c.status == "fail" for c in report.checks if c.id in failing)  # observed, not errored
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, docker_runner, engine):
    first = grade(lab, submission("wrong_exit_on_sigterm"), runner=docker_runner)
    second = grade(lab, submission("wrong_exit_on_sigterm"), runner=docker_runner)
    assert second.canonical_bytes() == first.canonical_bytes()


@pytest.mark.slow
def test_without_docker_the_image_checks_need_docker(lab, bwrap_runner, monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    report = grade(lab, submission("solution"), runner=bwrap_runner)
    by_status = {c.id: c for c in report.checks}
    assert {i for i, c in by_status.items() if c.status == "error"} == IMAGE
    assert all(by_status[i].message.startswith("needs Docker: ") and by_status[i].points == 0 for i in IMAGE)
    assert all(c.status == "pass" for i, c in by_status.items() if i not in IMAGE)
    assert not report.passed


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: from the submission folder."""
    work = tmp_path / "learner"
    shutil.copytree(folder, work)
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "SUBMISSION_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work, env=env, capture_output=True, text=True, timeout=180,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"\b{len(PUBLIC_TESTS)} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout

"""The monitoring lab, proven end to end on real sandboxes.

- the lab spec, the driver's workload and the hidden thresholds agree (156 requests,
  142 streams, 4 slow ones; a drift score of 0 before the shift, far above 0.2 after);
- the hidden promtool tests pass on the reference rules and are not the public ones;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and five plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).

promtool (Debian package prometheus) grades the alert rules on the host; CI installs it.
Without it the tests that need it skip, or fail when REQUIRE_DOCKER=1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders import grade, load_lab
from graders.inspectors import promtool as promtool_inspector

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "monitoring"
WRONG_DIR = Path(__file__).resolve().parent / "monitoring"
FILES = ("service.py", "metrics.py", "alerts.yml")

ALL_CHECKS = {
    "requests_by_status",
    "latency_counted",
    "latency_whole_stream",
    "buckets_fit",
    "ttft_measured",
    "ttft_first_text",
    "histograms_valid",
    "tokens_counted",
    "in_flight_during",
    "in_flight_at_rest",
    "bounded_labels",
    "drift_quiet",
    "drift_detected",
    "rules_valid",
    "alerts_behave",
}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # no metrics at all: only the label check (nothing per request) and the example rule's validity pass
    "starter": ALL_CHECKS - {"bounded_labels", "rules_valid"},
    "wrong_request_id_label": {"bounded_labels"},
    "wrong_default_buckets": {"buckets_fit"},
    # counted, timed and decremented at the end of a successful stream only
    "wrong_happy_path_only": {"requests_by_status", "latency_counted", "in_flight_during", "in_flight_at_rest"},
    "wrong_ttft_first_chunk": {"ttft_first_text"},
    "wrong_alert_no_for": {"alerts_behave"},
}

PUBLIC_TESTS = {
    "test_requests_counted_by_status",
    "test_request_latency_histogram",
    "test_buckets_fit",
    "test_time_to_first_token",
    "test_tokens_counted",
    "test_in_flight_gauge",
    "test_labels_are_bounded",
    "test_drift_score",
    "test_alert_rules_follow_the_policy",
    "test_alert_rules_pass_promtool",
}

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_labels_are_bounded"},
    "wrong_request_id_label": {"test_labels_are_bounded"},
    "wrong_default_buckets": {"test_buckets_fit"},
    "wrong_happy_path_only": {"test_requests_counted_by_status", "test_request_latency_histogram", "test_in_flight_gauge"},
    "wrong_ttft_first_chunk": {"test_time_to_first_token"},
    "wrong_alert_no_for": {"test_alert_rules_follow_the_policy", "test_alert_rules_pass_promtool"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


def load_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def workload():
    return load_module("monitoring_workload", LAB_DIR / "checks" / "driver" / "workload.py")


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("REQUIRE_DOCKER") == "1":
            pytest.fail("promtool is not installed (apt install prometheus); REQUIRE_DOCKER=1 makes this a failure")
        pytest.skip("promtool is not installed (apt install prometheus)")
    return path


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "monitoring"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert all(c.explain for c in lab.checks)
    assert lab.editable == FILES
    assert lab.inspector == "promtool"
    opts = lab.inspector_options
    tests = opts["tests"]
    assert all((LAB_DIR / "checks" / t).is_file() for t in tests)
    expected = json.loads((lab.expected_dir / "rule_tests.json").read_text())
    assert expected == [True] * len(tests)
    observed = {c.observe for c in lab.checks}
    assert {opts["check_as"], opts["tests_as"]} <= observed
    for name in FILES:
        assert (LAB_DIR / "solution" / name).is_file() and (LAB_DIR / "starter" / name).is_file()


def test_workload_matches_the_hidden_thresholds(lab, workload):
    wl = workload.build()
    assert wl.expected_statuses == {"200": 142, "400": 6, "502": 8}
    thresholds = {c.id: c.threshold for c in lab.checks}
    assert thresholds["latency_counted"] == wl.requests == 156
    assert thresholds["ttft_measured"] == wl.streams == 142
    assert thresholds["latency_whole_stream"] == thresholds["ttft_first_text"] == len(wl.slow) == 4
    assert thresholds["in_flight_during"] == len(wl.slow)
    assert len(wl.fail_status) == 8 and set(wl.fail_status) <= set(wl.errors)
    assert workload.SLOW_CHUNK_DELAY > 1.0  # a slow first token lands above the 1 s bucket
    # The drift phases: the reference and the next 50 valid prompts have the same length
    # mix (any length-based score is 0), the shifted ones are far longer.
    metrics = load_module("monitoring_solution_metrics", LAB_DIR / "solution" / "metrics.py")
    ref = [metrics.length_bin(p) for p in wl.reference]
    same = [metrics.length_bin(p) for p in wl.errors + wl.slow]
    shifted = [metrics.length_bin(p) for p in wl.shifted]
    assert len(ref) == len(same) == len(shifted) == workload.WINDOW
    assert metrics.psi(ref, same) == 0.0
    assert metrics.psi(ref, shifted) > 10 * 0.2


def test_hidden_rule_tests_pass_on_the_reference_rules(lab, promtool):
    host = promtool_inspector.inspect(LAB_DIR / "solution", lab)
    assert host == {"rules_check": "ok", "rule_tests": [True] * len(lab.inspector_options["tests"])}


def test_public_rule_tests_are_not_the_hidden_ones(lab):
    public = (LAB_DIR / "public_tests" / "alerts_test.yml").read_text()
    for name in lab.inspector_options["tests"]:
        hidden = (LAB_DIR / "checks" / name).read_text()
        values = set(re.findall(r"values: '([^']+)'", hidden))
        assert not values & set(re.findall(r"values: '([^']+)'", public)), name


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner, promtool):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
    assert all(c.status == "pass" for c in first.checks)
    assert first.run.wall_seconds < lab.limits.wall_seconds / 2
    second = grade(lab, submission("solution"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BELOW_BAR))
def test_below_the_bar_with_the_expected_checks_failing(lab, runner, promtool, name):
    report = grade(lab, submission(name), runner=runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, runner, promtool):
    first = grade(lab, submission("wrong_happy_path_only"), runner=runner)
    second = grade(lab, submission("wrong_happy_path_only"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: the three files and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    for name in FILES:
        shutil.copy2(folder / name, work / name)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "SERVICE_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path, promtool):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(rf"\b{len(PUBLIC_TESTS)} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, promtool, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout

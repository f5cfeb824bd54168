"""The async-python lab, proven end to end on real sandboxes.

- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and three plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graders import grade, load_lab

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "async-python"
WRONG_DIR = Path(__file__).resolve().parent / "async-python"

ALL_CHECKS = {
    "results_correct",
    "concurrency_limit",
    "runs_concurrently",
    "retries_5xx",
    "backoff_grows",
    "no_retry_4xx",
    "timeout_respected",
    "session_closed",
}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    "starter": ALL_CHECKS,
    "wrong_unbounded": {"concurrency_limit"},
    "wrong_retry_404": {"no_retry_4xx"},
    "wrong_no_backoff": {"backoff_grows"},
}

# submission folder -> public tests that must fail on it
PUBLIC_FAILURES = {
    "wrong_unbounded": {"test_never_more_requests_in_flight_than_the_limit"},
    "wrong_retry_404": {"test_does_not_retry_4xx"},
    "wrong_no_backoff": {"test_backoff_grows_between_retries"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "async-python"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == ("fetcher.py",)


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner):
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
def test_below_the_bar_with_the_expected_checks_failing(lab, runner, name):
    report = grade(lab, submission(name), runner=runner)
    assert report.run.termination == "ok", report.run
    failing = {c.id for c in report.checks if c.status != "pass"}
    assert failing == BELOW_BAR[name], report.to_json(indent=2)
    assert not report.passed
    assert report.score < lab.pass_bar
    assert report.run.wall_seconds < lab.limits.wall_seconds / 2


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: fetcher.py and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    shutil.copy2(folder / "fetcher.py", work / "fetcher.py")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "FETCHER_DIR")}
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


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\b12 passed\b", proc.stdout), proc.stdout


def test_public_tests_all_fail_on_the_starter(tmp_path):
    proc = run_public_tests(submission("starter"), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout.splitlines()[-1], proc.stdout
    assert len(failed_tests(proc.stdout)) == 12, proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert PUBLIC_FAILURES[name] <= failed_tests(proc.stdout), proc.stdout

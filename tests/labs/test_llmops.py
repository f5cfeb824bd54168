"""The llmops lab, proven end to end on real sandboxes.

- the host-only expected answers (true scores, gate decisions) follow from the hidden
  data and the mock's judge, and the hidden pairs exercise every rule of the gate;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and five plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).
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
from graders.harness.mockllm_behaviours import Judge

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "llmops"
WRONG_DIR = Path(__file__).resolve().parent / "llmops"
MODULES = ("registry.py", "evalharness.py", "gate.py")

ALL_CHECKS = {
    "registry_semver",
    "registry_content_hash",
    "registry_diff",
    "exact_match_scores",
    "rubric_scores",
    "safety_failures",
    "response_cache",
    "retry_after_honoured",
    "backoff_grows",
    "gate_decisions",
}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    "starter": ALL_CHECKS,
    # a dict in memory: free within one process, paid again by every gate process
    "wrong_memory_cache": {"response_cache"},
    # retries after a fixed 10 ms, ignoring Retry-After and never backing off
    "wrong_no_backoff": {"retry_after_honoured", "backoff_grows"},
    # candidate - baseline: blocks improvements, promotes regressions
    "wrong_gate_sign": {"gate_decisions"},
    "wrong_gate_ignores_safety": {"gate_decisions"},
    # the label is hashed with the content: the same content becomes a new version
    "wrong_hash_not_content": {"registry_content_hash"},
}

PUBLIC_TESTS = {
    "test_hash_is_the_sha256_of_the_content",
    "test_same_content_returns_the_existing_version",
    "test_semantic_version_bumps",
    "test_get_by_label_hash_and_latest",
    "test_diff_is_a_unified_diff",
    "test_the_registry_lives_on_disk",
    "test_normalize",
    "test_exact_match_and_rubric",
    "test_safety_failures_ignore_case",
    "test_the_same_request_is_never_paid_twice",
    "test_errors_are_not_cached",
    "test_a_429_is_retried_after_retry_after",
    "test_backoff_grows_after_server_errors",
    "test_a_client_error_is_not_retried",
    "test_promotes_an_improvement",
    "test_blocks_a_regression_beyond_the_tolerance",
    "test_allows_a_drop_within_or_at_the_tolerance",
    "test_blocks_an_unsafe_candidate_but_not_an_unsafe_baseline",
    "test_the_cli_exit_status",
}
PUBLIC_COUNT = len(PUBLIC_TESTS) + 2  # test_exact_match_and_rubric runs for three prompts

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_promotes_an_improvement", "test_allows_a_drop_within_or_at_the_tolerance",
                               "test_a_client_error_is_not_retried"},
    "wrong_memory_cache": {"test_the_same_request_is_never_paid_twice", "test_the_cli_exit_status"},
    "wrong_no_backoff": {"test_a_429_is_retried_after_retry_after", "test_backoff_grows_after_server_errors"},
    "wrong_gate_sign": {"test_promotes_an_improvement", "test_blocks_a_regression_beyond_the_tolerance",
                        "test_the_cli_exit_status"},
    "wrong_gate_ignores_safety": {"test_blocks_an_unsafe_candidate_but_not_an_unsafe_baseline",
                                  "test_the_cli_exit_status"},
    "wrong_hash_not_content": {"test_hash_is_the_sha256_of_the_content",
                               "test_same_content_returns_the_existing_version",
                               "test_get_by_label_hash_and_latest", "test_the_registry_lives_on_disk"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def data():
    path = LAB_DIR / "checks" / "driver" / "evaldata.py"
    spec = importlib.util.spec_from_file_location("llmops_evaldata", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["llmops_evaldata"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def true_scores(data, version) -> tuple[float, float, list[str]]:
    """What a correct harness reports for a version, computed here from the hidden data."""
    judge = Judge()
    exact, rubric = [], []
    for case in data.QA_CASES:
        answer = data.answer(version, case.input)
        exact.append(" ".join(answer.split()).casefold() == " ".join(case.expected.split()).casefold())
        rubric.append(judge.grade(case.input, answer, case.expected)["score"])
    failures = [c.id for c in data.SAFETY_CASES
                if any(s.casefold() in data.answer(version, c.input).casefold() for s in c.must_not_contain)]
    return sum(exact) / len(exact), sum(rubric) / len(rubric), failures


def expected(lab, name):
    return json.loads((lab.expected_dir / name).read_text())


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "llmops"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == MODULES
    assert all(c.explain for c in lab.checks)


def test_expected_scores_follow_from_the_hidden_data(lab, data):
    scores = {v.label: true_scores(data, v) for v in data.VERSIONS}
    assert expected(lab, "exact_match.json") == [round(scores[v][0], 4) for v in data.EVALUATED]
    assert expected(lab, "rubric.json") == [round(scores[v][1], 4) for v in data.EVALUATED]
    assert expected(lab, "safety_failures.json") == [scores[v][2] for v in data.EVALUATED]
    # quality follows the ORDER: a version's safety set is what it leaks, nothing else
    for v in data.VERSIONS:
        assert scores[v.label][0] == v.right / 20
        assert set(scores[v.label][2]) == v.leaks


def test_expected_gate_decisions_exercise_every_rule(lab, data):
    scores = {v.label: true_scores(data, v) for v in data.VERSIONS}
    decisions = expected(lab, "gate_decisions.json")
    assert len(decisions) == len(data.GATE_PAIRS)
    rules = set()
    for (base, cand, tol), decision in zip(data.GATE_PAIRS, decisions, strict=True):
        (be, br, _), (ce, cr, cs) = scores[base], scores[cand]
        drops = (be - ce, br - cr)
        right = "block" if cs or any(d > tol + 1e-9 for d in drops) else "promote"
        assert decision == right, (base, cand)
        # far from the tolerance, except the one pair that sits exactly on it
        assert all(abs(d - tol) > 0.004 or abs(d - tol) < 1e-9 for d in drops), (base, cand, drops)
        if cs:
            rules.add("unsafe candidate")
        if scores[base][2] and not cs:
            rules.add("unsafe baseline, safe candidate")
        if drops[0] > 0 and abs(drops[0] - tol) < 1e-9:
            rules.add("drop exactly at the tolerance")
        if drops[0] <= 1e-9 and drops[1] > tol:
            rules.add("rubric-only regression")
        if not cs and drops[0] > tol + 1e-9:
            rules.add("exact-match regression")
        if drops[0] < 0 and drops[1] < 0 and decision == "promote":
            rules.add("improvement")
        if 0 < drops[0] < tol - 1e-9 and decision == "promote":
            rules.add("drop within the tolerance")
    assert rules == {"unsafe candidate", "unsafe baseline, safe candidate", "drop exactly at the tolerance",
                     "rubric-only regression", "exact-match regression", "improvement", "drop within the tolerance"}
    assert 0.9 - 0.85 > 0.05  # why the exact-tolerance pair needs the slack


def test_public_data_is_not_the_hidden_one(data):
    public = "".join(p.read_text() for p in (LAB_DIR / "public_tests").glob("*.py"))
    for case in [*data.QA_CASES, *data.SAFETY_CASES]:
        assert case.input not in public, case
    for v in data.VERSIONS:
        assert v.content not in public, v.label
    assert "Nimbus" not in public


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


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, runner):
    """The retry checks rest on timings: they must still give the same report bytes."""
    first = grade(lab, submission("wrong_no_backoff"), runner=runner)
    second = grade(lab, submission("wrong_no_backoff"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: the three modules and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    for name in MODULES:
        shutil.copy2(folder / name, work / name)
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "LLMOPS_DIR")}
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
    assert re.search(rf"\b{PUBLIC_COUNT} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout


@pytest.mark.slow
def test_a_notebook_of_the_solution_scores_full_marks(lab, runner, tmp_path):
    """The lab takes one notebook for its three modules (lab.toml [notebook])."""
    from lab_notebooks import notebook_of

    from graders import accept_upload

    assert lab.notebook is not None
    folder = tmp_path / "nb"
    accept_upload("llmops.ipynb", notebook_of(submission("solution"), lab.notebook.modules), folder, lab.submission)
    report = grade(lab, folder, runner=runner)
    assert report.run.notebook is not None and report.run.notebook["status"] == "ok", report.run.notebook
    assert report.score == 1.0, report.to_json(indent=2)

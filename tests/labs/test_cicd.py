"""The cicd lab, proven end to end: host inspector plus real sandboxes.

- the lab is consistent: every scenario feeds a check, the public model of GitHub Actions
  is the grader's own, the learner's advisory database is a subset of the grader's, and
  checks/expected/ agrees with reference computations (never with the solution alone);
- the reference solution scores 1.0 on both backends, with byte-identical reports on two
  runs;
- the starter and seven plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- a workflow that does not parse gets a clear message on every workflow check;
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
from graders.inspectors import Unavailable, workflow
from graders.pipeline import host_observations

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "cicd"
WRONG_DIR = Path(__file__).resolve().parent / "cicd"
DRIVER = LAB_DIR / "checks" / "driver"

WORKFLOW_CHECKS = {"actions_pinned", "least_privilege", "job_order", "no_secret_echo", "dependency_cache",
                   "deploys_from_main", "deploy_only_on_main", "fork_prs_never_deploy", "failures_block_deploy"}
SCRIPT_CHECKS = {"eval_gate_decisions", "scan_catches_planted", "scan_no_false_alarms", "requirements_clean"}
ALL_CHECKS = WORKFLOW_CHECKS | SCRIPT_CHECKS

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # tags, write-all, echoed token, no scan job, no cache, deploys everything; stub scripts
    "starter": ALL_CHECKS - {"scan_no_false_alarms"},
    "wrong_tag_pinned": {"actions_pinned"},
    "wrong_write_all_echo": {"least_privilege", "no_secret_echo"},
    # always() on deploy: it runs after a failed gate or scan
    "wrong_always_deploy": {"failures_block_deploy"},
    # if: ${{ a }} && ${{ b }} is a non-empty string: every branch and pull request deploys
    "wrong_template_if": {"deploy_only_on_main", "fork_prs_never_deploy"},
    # pull_request_target + a ref-only condition: a fork's pull request deploys
    "wrong_pr_target": {"fork_prs_never_deploy"},
    "wrong_gate_no_tolerance": {"eval_gate_decisions"},
    # "2.9.1" > "2.31.0" and "1.26.17" < "1.26.5" as strings
    "wrong_string_versions": {"scan_catches_planted", "scan_no_false_alarms"},
}

PUBLIC_TESTS = {
    "test_actions_are_pinned_to_commit_shas",
    "test_token_has_least_privilege",
    "test_jobs_run_in_order",
    "test_no_secret_is_printed",
    "test_dependencies_are_cached",
    "test_green_push_to_main_deploys",
    "test_other_branches_and_pull_requests_do_not_deploy",
    "test_fork_pull_requests_never_deploy",
    "test_failed_gate_or_scan_blocks_deploy",
    "test_eval_gate_decisions",
    "test_scan_catches_vulnerable_pins",
    "test_scan_no_false_alarms",
    "test_requirements_are_pinned_and_clean",
}

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_scan_no_false_alarms"},
    "wrong_tag_pinned": {"test_actions_are_pinned_to_commit_shas"},
    "wrong_write_all_echo": {"test_token_has_least_privilege", "test_no_secret_is_printed"},
    "wrong_always_deploy": {"test_failed_gate_or_scan_blocks_deploy"},
    "wrong_template_if": {"test_other_branches_and_pull_requests_do_not_deploy", "test_fork_pull_requests_never_deploy"},
    "wrong_pr_target": {"test_fork_pull_requests_never_deploy"},
    "wrong_gate_no_tolerance": {"test_eval_gate_decisions"},
    "wrong_string_versions": {"test_scan_catches_vulnerable_pins", "test_scan_no_false_alarms"},
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
def driver():
    """The driver's case modules, imported on the host (they are plain data builders)."""
    sys.path.insert(0, str(DRIVER))
    try:
        yield {name: load_module(f"cicd_{name}", DRIVER / f"{name}.py") for name in ("gate_cases", "scan_cases", "refscan")}
    finally:
        sys.path.remove(str(DRIVER))


def expected(lab, name: str):
    return json.loads((lab.expected_dir / name).read_text())


def test_lab_spec_is_consistent(lab):
    assert lab.slug == "cicd"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)  # every check is essential
    assert all(len(c.explain) > 80 for c in lab.checks)
    assert lab.inspector == "workflow"
    assert set(lab.editable) == {".github/workflows/ci.yml", "scripts/eval_gate.py", "scripts/security_scan.py",
                                 "requirements.txt"}
    scenarios = workflow.load_scenarios(LAB_DIR / "checks" / lab.inspector_options["scenarios"])
    matched = {c.observe: c for c in lab.checks if c.kind == "match" and c.observe.startswith("scenarios_")}
    assert {s.observe for s in scenarios} == set(matched)
    for observe, check in matched.items():  # one expected answer per scenario, in order
        assert len(expected(lab, check.expected)) == sum(s.observe == observe for s in scenarios)
    static = {c.observe for c in lab.checks if c.kind == "compare" and c.id in WORKFLOW_CHECKS}
    assert static == set(workflow.STATIC)


def test_the_public_model_is_the_graders_and_the_databases_agree():
    public = LAB_DIR / "public_tests"
    assert (public / "workflow_model.py").read_bytes() == Path(workflow.__file__).read_bytes()
    db = (LAB_DIR / "starter" / "security" / "advisories.json").read_bytes()
    assert (LAB_DIR / "solution" / "security" / "advisories.json").read_bytes() == db
    assert (public / "advisories.json").read_bytes() == db
    hidden = json.loads((DRIVER / "advisories.json").read_text())
    mine = json.loads(db)
    assert all(entry in hidden for entry in mine) and len(hidden) > len(mine)


def test_expected_gate_decisions_follow_the_rules(lab, driver):
    """Recompute every hidden gate decision from counts (no floats), independently of the solution."""
    cases = driver["gate_cases"]
    decisions = []
    for case in cases.CASES:
        baseline, candidate = cases.build(case)
        base = {r["id"]: r for r in map(json.loads, baseline.splitlines())}
        try:
            rows = [json.loads(line) for line in candidate.splitlines()]
        except ValueError:
            decisions.append(2)
            continue
        if len({r["id"] for r in rows}) != len(rows):
            decisions.append(2)
            continue
        cand = {r["id"]: r for r in rows}
        n = len(base)
        right_base = sum(r["prediction"].strip().lower() == r["label"] for r in base.values())
        right_cand = sum(i in cand and cand[i]["prediction"].strip().lower() == cand[i]["label"] for i in base)
        drop_ok = (right_base - right_cand) * 1000 <= round(case.max_drop * 1000) * n
        floor_ok = right_cand * 1000 >= round(case.min_accuracy * 1000) * n
        decisions.append(0 if drop_ok and floor_ok else 1)
    assert decisions == expected(lab, "gate_exit_codes.json")
    assert sorted(set(decisions)) == [0, 1, 2]


def test_expected_scan_answers_follow_the_database(lab, driver):
    ref, cases = driver["refscan"], driver["scan_cases"]
    db = json.loads((DRIVER / "advisories.json").read_text())

    def answer(text: str) -> list:
        names = sorted({req.name for req, _ in ref.findings(ref.parse(text), db)})
        return [1 if names else 0, names]

    assert [answer(t) for t in cases.PLANTED] == expected(lab, "scan_planted.json")
    assert [answer(t) for t in cases.CLEAN] == expected(lab, "scan_clean.json")
    assert all(answer(t)[0] == 1 for t in cases.PLANTED) and all(answer(t)[0] == 0 for t in cases.CLEAN)


def test_hidden_cases_are_not_the_public_ones(driver):
    public = (LAB_DIR / "public_tests" / "test_pipeline.py").read_text()
    for text in driver["scan_cases"].PLANTED + driver["scan_cases"].CLEAN:
        for line in text.splitlines():
            pin = line.split("#")[0].strip()
            if "==" in pin:
                assert pin not in public, line
    scenarios = json.loads((LAB_DIR / "checks" / "scenarios.json").read_text())["scenarios"]
    for s in scenarios:  # the hidden refs and branch names never appear in the public tests
        assert s["ref"] not in public or s["ref"] == "refs/heads/main", s


def test_a_workflow_that_does_not_parse_gets_a_clear_message(lab, tmp_path):
    sub = tmp_path / "sub"
    shutil.copytree(submission("solution"), sub)
    (sub / ".github/workflows/ci.yml").write_text("on: push\njobs:\n  lint: [unclosed\n")
    host = host_observations(lab, sub)
    assert set(host) >= set(workflow.STATIC) | {"scenarios_main", "scenarios_blocked"}
    assert all(isinstance(v, Unavailable) and "not valid YAML" in v.reason for v in host.values())
    (sub / ".github/workflows/ci.yml").write_text((submission("solution") / ".github/workflows/ci.yml").read_text()
                                                  .replace("if: github.event_name", "if: github.event_name = "))
    host = host_observations(lab, sub)
    assert host["unpinned_actions"] == "none"
    assert isinstance(host["scenarios_main"], Unavailable)
    assert "job deploy: if:" in host["scenarios_main"].reason and "use '=='" in host["scenarios_main"].reason


@pytest.mark.slow
def test_solution_scores_full_marks_deterministically(lab, runner):
    first = grade(lab, submission("solution"), runner=runner)
    assert first.run.termination == "ok", first.run
    assert first.score == 1.0, first.to_json(indent=2)
    assert first.passed
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
    for check in report.checks:  # every failure says what was seen, what was needed, and what to do
        if check.status == "fail":
            spec = next(c for c in lab.checks if c.id == check.id)
            assert spec.explain in check.message and ("needs" in check.message), check.message


@pytest.mark.slow
def test_wrong_solution_reports_are_deterministic(lab, runner):
    first = grade(lab, submission("wrong_string_versions"), runner=runner)
    second = grade(lab, submission("wrong_string_versions"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: from the project folder, public_tests/ inside it."""
    work = tmp_path / "learner"
    shutil.copytree(folder, work)
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "CICD_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "-p", "no:django", "public_tests"],
        cwd=work, env=env, capture_output=True, text=True, timeout=180,
    )


def failed_tests(output: str) -> set[str]:
    return set(re.findall(r"^(?:FAILED|ERROR) \S*::(\w+)", output, re.MULTILINE))


def test_public_tests_pass_on_the_solution(tmp_path):
    proc = run_public_tests(submission("solution"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert set(re.findall(r"def (test_\w+)", (LAB_DIR / "public_tests" / "test_pipeline.py").read_text())) \
        == PUBLIC_TESTS


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout

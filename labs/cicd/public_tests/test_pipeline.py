"""Public tests for the pipeline: run them as often as you like.

    python -m pytest public_tests -q

The workflow tests read your ci.yml with the same model of GitHub Actions the grader uses
(workflow_model.py: the YAML is read as data, never run, and its needs/if graph is
simulated; its docstring lists the expression subset). The script tests run your
eval_gate.py and security_scan.py on small public cases. The grader's scenarios and cases
are hidden and different, so match the rules in the brief, not these examples.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import workflow_model as wm

CHAIN = ["lint", "test", "eval-gate", "security-scan", "deploy"]
CHECKS = CHAIN[:-1]
WRITE_SCOPES = {"deploy": ["deployments", "id-token"]}
ADVISORIES = Path(__file__).with_name("advisories.json")


@pytest.fixture(scope="module")
def wf(project):
    return wm.load_workflow((project / ".github/workflows/ci.yml").read_bytes())


def ran(wf, **scenario) -> list[str]:
    """The jobs (of `report`, default the whole chain) that would run in this scenario."""
    s = wm.Scenario(id="public", **scenario)
    results = wm.simulate(wf, wm.build_model(wf), s)
    return [job for job in (s.report or CHAIN) if results.get(job) in ("success", "failure")]


# -- the workflow, statically -------------------------------------------------------------


def test_actions_are_pinned_to_commit_shas(wf):
    assert wm.unpinned_actions(wf) == []


def test_token_has_least_privilege(wf):
    assert wm.permission_problems(wf, WRITE_SCOPES) == []


def test_jobs_run_in_order(wf):
    assert wm.needs_problems(wf, CHAIN) == []


def test_no_secret_is_printed(wf):
    assert wm.secret_exposures(wf) == []


def test_dependencies_are_cached(wf):
    assert wm.uncached_installs(wf) == []


# -- the workflow, simulated --------------------------------------------------------------


def test_green_push_to_main_deploys(wf):
    assert ran(wf, event="push", ref="refs/heads/main") == CHAIN


def test_other_branches_and_pull_requests_do_not_deploy(wf):
    assert ran(wf, event="push", ref="refs/heads/dev", report=("deploy",)) == []
    assert ran(wf, event="push", ref="refs/heads/release/main", report=("deploy",)) == []
    assert ran(wf, event="pull_request", ref="refs/pull/3/merge", base_ref="main", head_ref="dev") == CHECKS


def test_fork_pull_requests_never_deploy(wf):
    assert ran(wf, event="pull_request", ref="refs/pull/9/merge", base_ref="main", head_ref="fix", fork=True) == CHECKS
    assert ran(wf, event="pull_request_target", ref="refs/heads/main", base_ref="main", head_ref="fix", fork=True,
               report=("deploy",)) == []


def test_failed_gate_or_scan_blocks_deploy(wf):
    main = {"event": "push", "ref": "refs/heads/main", "report": ("deploy",)}
    assert ran(wf, **main, fail_steps=("scripts/eval_gate.py",)) == []
    assert ran(wf, **main, fail_steps=("scripts/security_scan.py",)) == []


# -- scripts/eval_gate.py -----------------------------------------------------------------

LABELS = ("billing", "bug_report", "account_access", "feature_request", "cancellation")


def outputs(n: int, wrong: int, *, skip: int = 0) -> str:
    """n eval examples (ids q000...), the first `wrong` predicted wrongly, the last `skip` left out."""
    rows = []
    for i in range(n - skip):
        label = LABELS[i % 5]
        rows.append({"id": f"q{i:03d}", "label": label, "prediction": LABELS[(i + 1) % 5] if i < wrong else label})
    return "".join(json.dumps(r) + "\n" for r in rows)


GATE_CASES = [
    # (what, baseline, candidate, extra arguments, expected exit code)
    ("better candidate", outputs(100, 12), outputs(100, 8), [], 0),
    ("5 points worse", outputs(100, 10), outputs(100, 15), [], 1),
    ("1 point worse, within --max-drop 0.02", outputs(100, 10), outputs(100, 11), [], 0),
    ("exactly --max-drop worse passes", outputs(100, 10), outputs(100, 12), [], 0),
    ("3 points worse, within --max-drop 0.05", outputs(100, 10), outputs(100, 13), ["--max-drop", "0.05"], 0),
    ("under --min-accuracy", outputs(100, 20), outputs(100, 21), [], 1),
    ("missing outputs count as wrong", outputs(100, 10), outputs(100, 5, skip=10), [], 1),
    ("a line that is not JSON", outputs(100, 10), outputs(100, 10) + '{"id": "q100", "lab\n', [], 2),
]


@pytest.mark.parametrize("case", GATE_CASES, ids=[c[0] for c in GATE_CASES])
def test_eval_gate_decisions(project, tmp_path, case):
    what, baseline, candidate, extra, expected = case
    (tmp_path / "baseline.jsonl").write_text(baseline)
    (tmp_path / "candidate.jsonl").write_text(candidate)
    proc = subprocess.run([sys.executable, "scripts/eval_gate.py", "--baseline", str(tmp_path / "baseline.jsonl"),
                           "--candidate", str(tmp_path / "candidate.jsonl"), *extra],
                          cwd=project, capture_output=True, text=True, timeout=30)
    assert proc.returncode == expected, f"{what}: exit {proc.returncode}, expected {expected}\n{proc.stdout}{proc.stderr}"


# -- scripts/security_scan.py -------------------------------------------------------------


def scan(project: Path, tmp_path: Path, requirements: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "requirements.txt").write_text(requirements)
    return subprocess.run([sys.executable, "scripts/security_scan.py", "--requirements",
                           str(tmp_path / "requirements.txt"), "--advisories", str(ADVISORIES)],
                          cwd=project, capture_output=True, text=True, timeout=30)


PLANTED = [
    ("requests==2.9.0\nnumpy==2.1.3\n", "requests", "PYSEC-2023-74"),  # 2.9.0 < 2.31.0, as versions
    ("PyYAML==5.1  # config\n", "pyyaml", "PYSEC-2021-142"),
    ("urllib3==2.0.5\n", "urllib3", "PYSEC-2023-192"),  # the events are listed out of order
    ("sf-promptlib==2.1.4\n", "sf-promptlib", "SFSA-2025-0002"),  # last_affected is affected
    ("SF_EvalKit==1.2.0\n", "sf-evalkit", "SFSA-2025-0001"),  # an exact versions list
]


@pytest.mark.parametrize("case", PLANTED, ids=[c[1] for c in PLANTED])
def test_scan_catches_vulnerable_pins(project, tmp_path, case):
    requirements, name, advisory = case
    proc = scan(project, tmp_path, requirements)
    assert proc.returncode == 1, f"exit {proc.returncode}, expected 1\n{proc.stdout}{proc.stderr}"
    lines = [line.lower().replace("_", "-") for line in (proc.stdout + proc.stderr).splitlines()]
    assert any(name in line and advisory.lower() in line for line in lines), \
        f"no line names {name} and {advisory}:\n{proc.stdout}"


CLEAN = [
    "aiohttp==3.11.18\nurllib3==1.26.20\n",  # newer than 3.9.2 and 1.26.5, though not as strings
    "urllib3==2.0.6\naiohttp==3.9.2\nsf-promptlib==2.1.5\nsf-evalkit==1.2.2\n",  # fixed / past the last affected
    "# jinja2==3.1.2 was removed\nrequests-oauthlib==2.0.0\n--index-url https://pypi.org/simple\n",
]


@pytest.mark.parametrize("requirements", CLEAN, ids=["versions", "fixed", "names"])
def test_scan_no_false_alarms(project, tmp_path, requirements):
    proc = scan(project, tmp_path, requirements)
    assert proc.returncode == 0, f"exit {proc.returncode}, expected 0\n{proc.stdout}{proc.stderr}"


def test_requirements_are_pinned_and_clean(project, tmp_path):
    text = (project / "requirements.txt").read_text()
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    unpinned = [line for line in lines if line and not line.startswith("-") and "==" not in line]
    assert unpinned == [], "pin every requirement with =="
    proc = scan(project, tmp_path, text)
    assert proc.returncode == 0, f"your own requirements have findings:\n{proc.stdout}{proc.stderr}"

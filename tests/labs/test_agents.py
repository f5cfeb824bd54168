"""The agents lab, proven end to end on real sandboxes.

- the hidden tasks are consistent: every attack's text really sits in a tool result,
  two tasks need a human's approval (the approvals check's threshold), and the
  reference agent, run in-process against the driver's own model and tool server, gives
  exactly checks/expected/answers.json with nothing to report;
- the reference solution scores 1.0 on both backends, with byte-identical reports on
  two runs;
- the starter and six plausible-but-wrong solutions land below the bar, each failing
  exactly the check(s) its bug should fail;
- the public tests pass on the solution and fail on the starter and on each wrong
  solution (so a learner gets the same signal locally as from the grader).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from graders import grade, load_lab

REPO = Path(__file__).resolve().parents[2]
LAB_DIR = REPO / "labs" / "agents"
WRONG_DIR = Path(__file__).resolve().parent / "agents"
HARNESS = REPO / "graders" / "harness"
DRIVER_DIR = LAB_DIR / "checks" / "driver"
DRIVER_MODULES = ("sfharness", "mockllm_behaviours", "mockllm", "model", "tasks", "toolserver", "driver")

SAFETY = {"allowlist", "arguments_validated", "loop_detection", "budget", "approval_gate", "approvals_requested",
          "injection_resisted"}
ALL_CHECKS = SAFETY | {"final_answers"}

# submission folder -> the checks it must fail (all others must pass)
BELOW_BAR = {
    # trusts the model completely: crashes on broken JSON, runs everything, never stops
    "starter": ALL_CHECKS,
    "wrong_no_allowlist": {"allowlist"},
    "wrong_no_validation": {"arguments_validated"},
    "wrong_no_loop_detection": {"loop_detection", "final_answers"},
    "wrong_no_budget": {"budget", "final_answers"},
    "wrong_obeys_injection": {"injection_resisted", "final_answers"},
    "wrong_skips_approval": {"approval_gate", "approvals_requested", "final_answers"},
}

PUBLIC_TESTS = {
    "test_returns_the_models_final_answer",
    "test_only_allowed_tools_are_offered_and_run",
    "test_malformed_json_is_refused_and_corrected",
    "test_schema_violations_never_reach_the_tools",
    "test_tool_errors_go_back_to_the_model",
    "test_repeated_calls_are_not_run_twice",
    "test_step_budget",
    "test_token_budget",
    "test_dangerous_tool_needs_a_humans_approval",
    "test_injected_instructions_are_quarantined",
}

# submission folder -> exactly the public tests that must fail on it
PUBLIC_FAILURES = {
    "starter": PUBLIC_TESTS - {"test_returns_the_models_final_answer", "test_tool_errors_go_back_to_the_model"},
    "wrong_no_allowlist": {"test_only_allowed_tools_are_offered_and_run"},
    "wrong_no_validation": {"test_malformed_json_is_refused_and_corrected",
                            "test_schema_violations_never_reach_the_tools"},
    "wrong_no_loop_detection": {"test_repeated_calls_are_not_run_twice"},
    "wrong_no_budget": {"test_step_budget", "test_token_budget"},
    "wrong_obeys_injection": {"test_injected_instructions_are_quarantined"},
    "wrong_skips_approval": {"test_dangerous_tool_needs_a_humans_approval"},
}


def submission(name: str) -> Path:
    return LAB_DIR / name if name in ("starter", "solution") else WRONG_DIR / name


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lab():
    return load_lab(LAB_DIR)


@pytest.fixture(scope="module")
def hidden() -> SimpleNamespace:
    """The driver's modules, imported as they are in the sandbox (flat names on sys.path),
    then taken out of sys.modules again so no other lab's test sees them."""
    saved = {n: sys.modules.pop(n) for n in DRIVER_MODULES if n in sys.modules}
    path = list(sys.path)
    sys.path[:0] = [str(HARNESS), str(DRIVER_DIR)]
    try:
        modules = {n: importlib.import_module(n) for n in DRIVER_MODULES}
    finally:
        sys.path[:] = path  # driver.py adds /grader too
        for n in DRIVER_MODULES:
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    return SimpleNamespace(**modules)


@pytest.fixture(scope="module")
def expected_answers(lab) -> list[Any]:
    return json.loads((lab.expected_dir / "answers.json").read_text())


class InProcessEnv:
    """The runner's env without HTTP: the driver's model and tool server, called directly."""

    def __init__(self, hidden: SimpleNamespace, task: Any) -> None:
        self.h, self.task = hidden, task
        self.ledger = hidden.toolserver.Ledger()
        self.server = hidden.toolserver.ToolServer(task, self.ledger)
        self.llm = hidden.mockllm.MockLLM(task.model(), models=("mock-gpt",))
        self.model = "mock-gpt"
        self.tools = json.loads(json.dumps(hidden.tasks.TOOLS))
        self.usage: list[int] = []
        self.calls: list[Any] = []  # mockllm.Call records, as the server would keep them

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None, **params: Any) -> Any:
        m = self.h.mockllm
        body = json.loads(json.dumps({"model": self.model, "messages": messages, **params,
                                      **({"tools": tools} if tools else {})}))
        m.validate(body)
        rest = {k: v for k, v in body.items() if k not in ("model", "messages")}
        keyed = {k: v for k, v in rest.items() if k not in m.UNKEYED}
        req = m.Request(self.model, body["messages"], rest,
                        self.h.mockllm_behaviours.digest("chat", self.model, body["messages"], keyed))
        ans = self.llm.answer(req)
        full, _ = self.llm.render(req, ans)
        u = full["usage"]
        self.usage.append(u["total_tokens"])
        self.calls.append(m.Call(seq=len(self.calls) + 1, path="chat", key=req.key, model=self.model, at=0.0, status=200,
                                 nth=0, duplicate=False, after_success=False, gap=None, retry_after=None, streamed=False,
                                 prompt_tokens=u["prompt_tokens"], completion_tokens=u["completion_tokens"],
                                 concurrent=1, tags=ans.tags))
        return json.loads(json.dumps(full))

    def call_tool(self, name: str, arguments: Any, approval_id: str | None = None) -> Any:
        body = {"arguments": arguments, **({"approval_id": approval_id} if approval_id is not None else {})}
        return json.loads(json.dumps(self.server.do_call(str(name), json.loads(json.dumps(body)))[1]))

    def request_approval(self, name: str, arguments: Any, reason: str = "") -> Any:
        return self.server.do_approval(json.loads(json.dumps({"tool": name, "arguments": arguments})))[1]


def test_lab_spec_is_consistent(lab, hidden):
    assert lab.slug == "agents"
    assert {c.id for c in lab.checks} == ALL_CHECKS
    total = sum(c.weight for c in lab.checks)
    # No single check can be missed and still pass: each one is essential.
    assert all((total - c.weight) / total < lab.pass_bar for c in lab.checks)
    assert lab.editable == ("agent.py",)
    # Every safety check names the OWASP LLM Top 10 (2025) risk it teaches.
    assert all(re.search(r"OWASP LLM\d\d:2025", c.explain) for c in lab.checks if c.id in SAFETY)
    # The approvals threshold is the number of hidden tasks that propose a dangerous call.
    gated = [t for t in hidden.tasks.TASKS if any(isinstance(s, hidden.model.Gate) for s in t.plan)]
    assert {c.id: c.threshold for c in lab.checks}["approvals_requested"] == len(gated) == 2


def test_hidden_tasks_are_consistent(hidden, expected_answers):
    tasks, tools = hidden.tasks.TASKS, hidden.tasks.TOOLS
    assert len({t.id for t in tasks}) == len(tasks) == len(expected_answers) == 12
    admin = {"delete_customer", "export_customers", "run_sql"}
    dangerous = {name for name, spec in tools.items() if spec["requires_approval"]}
    for t in tasks:
        assert set(t.allowed_tools) <= set(tools) - admin, t.id
        public = t.public()
        assert set(public) == {"id", "prompt", "allowed_tools", "max_steps", "max_tokens"}
        assert t.markers == ((t.attack.marker,) if t.attack else ()), t.id
        if t.attack:  # the attacker's text sits in the data a tool returns, never in the prompt
            data = json.dumps([hidden.tasks.KB, hidden.tasks.SHIPMENTS]).lower()
            assert t.attack.marker in data and t.attack.marker not in t.prompt.lower(), t.id
            assert any(t.attack.marker in c.arguments_text() for c in t.attack.calls) or \
                t.attack.marker in t.attack.final.lower()
    # only refunds need a human, and the approver declines one of the two proposed
    assert dangerous == {"issue_refund"}
    assert sum(a is None for a in expected_answers) == 2  # the two endless tasks end by budget


def test_reference_agent_in_process_gives_the_expected_answers(hidden, expected_answers):
    """The expected answers are what the scripted models say to an agent that does
    everything right, and such an agent leaves nothing for the ledgers to record."""
    agent = load_module("agents_reference_solution", LAB_DIR / "solution" / "agent.py")
    answers = []
    for task in hidden.tasks.TASKS:
        env = InProcessEnv(hidden, task)
        answers.append(agent.run_task(task.public(), env))
        led = env.ledger
        assert (led.forbidden, led.invalid, led.repeated, led.unapproved, led.hijack_calls) == ([], [], [], [], 0)
        assert len(env.usage) <= task.max_steps and sum(env.usage[:-1]) < task.max_tokens, task.id
    assert answers == expected_answers


def test_the_adversarial_model_misbehaves_as_scripted(hidden):
    """The naive starter (trusts the model) must trip over every kind of misbehaviour."""
    agent = load_module("agents_starter", LAB_DIR / "starter" / "agent.py")
    crashed, ledgers = [], []
    for task in hidden.tasks.TASKS:
        env = InProcessEnv(hidden, task)
        try:
            agent.run_task(task.public(), env)
        except ValueError:  # json.loads on malformed arguments
            crashed.append(task.id)
        ledgers.append(env.ledger)
    assert crashed == ["t01", "t04"]
    assert sum(len(led.forbidden) for led in ledgers) == 2
    assert sum(len(led.repeated) for led in ledgers) > 0
    assert sum(len(led.unapproved) for led in ledgers) == 2
    assert sum(led.hijack_calls for led in ledgers) == 2  # the third attack only changes the answer


def observe_in_process(hidden: SimpleNamespace, folder: Path) -> dict[str, Any]:
    """The driver's observations for an agent run in-process (no sandbox, no HTTP)."""
    agent = load_module(f"agents_{folder.name}", folder / "agent.py")
    outcomes = []
    for task in hidden.tasks.TASKS:
        env = InProcessEnv(hidden, task)
        try:
            env.server.do_answer({"answer": agent.run_task(task.public(), env)})
        except Exception:  # the runner reports no answer for a task whose run_task raised
            pass
        outcomes.append(hidden.driver.Outcome(task, env.ledger, env.calls, None))
    return hidden.driver.observe(outcomes)


@pytest.mark.parametrize("name", sorted(BELOW_BAR))
def test_in_process_each_submission_fails_exactly_its_checks(lab, hidden, name):
    """A quick, sandbox-free version of the graded runs below (same model, same ledgers)."""
    from graders.checks import evaluate

    obs = observe_in_process(hidden, submission(name))
    failing = {r.id for r in (evaluate(c, obs, lab.expected_dir) for c in lab.checks) if r.status != "pass"}
    assert failing == BELOW_BAR[name], obs


def test_an_agent_that_runs_no_tool_earns_no_safety_credit(lab, hidden, tmp_path):
    from graders.checks import evaluate

    (tmp_path / "idle").mkdir()
    (tmp_path / "idle" / "agent.py").write_text("def run_task(task, env):\n    return None\n")
    obs = observe_in_process(hidden, tmp_path / "idle")
    assert set(obs) == {"final_answers", "approvals_requested"}
    assert all(evaluate(c, obs, lab.expected_dir).points == 0 for c in lab.checks)


def test_public_material_does_not_hold_hidden_data(hidden):
    shipped = [*(LAB_DIR / "public_tests").glob("*.py"), LAB_DIR / "brief.md", LAB_DIR / "starter" / "agent.py"]
    public = "\n".join(p.read_text() for p in shipped)
    for task in hidden.tasks.TASKS:
        assert task.prompt not in public
        for marker in task.markers:
            assert marker not in public
    for order_id in [*hidden.tasks.ORDERS, *hidden.tasks.ORDER_HINTS]:
        assert order_id not in public


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
    first = grade(lab, submission("wrong_obeys_injection"), runner=runner)
    second = grade(lab, submission("wrong_obeys_injection"), runner=runner)
    assert second.canonical_bytes() == first.canonical_bytes()


def run_public_tests(folder: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run public_tests the way a learner does: agent.py and public_tests/ side by side."""
    work = tmp_path / "learner"
    shutil.copytree(LAB_DIR / "public_tests", work / "public_tests")
    shutil.copy2(folder / "agent.py", work / "agent.py")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "AGENT_DIR")}
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
    assert re.search(rf"\b{len(PUBLIC_TESTS)} passed\b", proc.stdout), proc.stdout


@pytest.mark.parametrize("name", sorted(PUBLIC_FAILURES))
def test_public_tests_catch_the_starter_and_each_wrong_solution(tmp_path, name):
    proc = run_public_tests(submission(name), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert failed_tests(proc.stdout) == PUBLIC_FAILURES[name], proc.stdout

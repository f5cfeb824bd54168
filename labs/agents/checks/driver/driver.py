"""Trusted driver for the agents lab. Runs inside the sandbox as the driver user.

For each hidden task (tasks.py) it starts a scripted, adversarial mock model
(mockllm.MockLLM around model.ScriptedModel) and a tool server with the approval channel
(toolserver.py), then runs the learner's agent on that task in a fresh process as the
learner's user (runner.py). The model sometimes emits malformed or schema-breaking
arguments, asks for forbidden tools, repeats itself, pages for ever, and obeys text
injected into tool results. The driver records, from its own side of the sockets only:

  final_answers               the answer each task's agent posted (compared on the host
                              with checks/expected/answers.json, which never enters here)
  forbidden_calls             calls that reached the tool server for tools outside the
                              task's allowlist
  invalid_args_at_server      calls to allowed tools whose arguments break the schema
  repeated_calls              calls executed again with identical arguments in one task
  over_budget_tasks           tasks whose agent called the model after its step or token
                              budget (from the model's own usage numbers) was spent
  unapproved_dangerous_calls  dangerous calls without an approved, matching, unused approval
  approvals_requested         requests to the approval channel
  hijacked_tasks              tasks where the attacker's text reached the tool server in a
                              call's arguments, or came back in the final answer

When no call reached the tool server in any task, only the answers and the approval
requests are reported: safeguards that were never exercised earn nothing.

Every observation is an integer or the list of answers, so the same submission gets
byte-identical reports run after run.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import sfharness as h  # noqa: E402
from mockllm import Call, MockLLM  # noqa: E402
from tasks import TASKS, Task  # noqa: E402
from toolserver import NO_ANSWER, Ledger, ToolServer  # noqa: E402

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
MODEL = "mock-gpt"
# Seconds for one task's process (a correct agent needs well under 1). Every task gets the
# whole of it, whatever earlier tasks did, so what is observed never depends on timing.
TASK_TIMEOUT = 6.0
OUTPUT_CAP = 32 * 1024


@dataclass
class Outcome:
    task: Task
    ledger: Ledger
    calls: list[Call]
    run: h.LearnerRun

    @property
    def steps(self) -> int:
        return len(self.calls)

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls if c.status == 200)

    def over_budget(self) -> bool:
        """A model call made when the step budget or the token budget was already spent."""
        used = 0
        for i, call in enumerate(self.calls):
            if i >= self.task.max_steps or used >= self.task.max_tokens:
                return True
            if call.status == 200:
                used += call.prompt_tokens + call.completion_tokens
        return False

    def hijacked(self) -> bool:
        answer = self.ledger.answer
        return self.ledger.hijack_calls > 0 or (
            isinstance(answer, str) and any(m in answer.lower() for m in self.task.markers))

    def tags(self, tag: str) -> int:
        return sum(tag in c.tags for c in self.calls)


async def run_task(task: Task) -> Outcome:
    ledger = Ledger()
    async with MockLLM(task.model(), models=(MODEL,)) as llm:
        server = await ToolServer(task, ledger).start()
        try:
            config = {"task": task.public(), "model": MODEL, "llm_base_url": llm.base_url, "tool_url": server.url}
            run = await h.run_learner(["python3", "-I", "-c", RUNNER_SOURCE], timeout=TASK_TIMEOUT,
                                      stdin=json.dumps(config).encode(), output_cap=OUTPUT_CAP)
        finally:
            h.kill_learner_processes()  # nothing of this task may live on into the next one
            await server.stop()
        return Outcome(task, ledger, list(llm.calls), run)


def n(count: int, thing: str) -> str:
    return f"{count} {thing}{'' if count == 1 else 's'}"


def note(o: Outcome) -> str:
    """One line per task for the learner's log: what the driver saw (never the expected answer)."""
    t, led = o.task, o.ledger
    parts = [f"{n(o.steps, 'model call')} ({o.tokens} tokens; budget {t.max_steps} calls, {t.max_tokens} tokens)",
             n(led.tool_calls, "tool call")]
    if led.forbidden:
        parts.append(f"forbidden tools reached the server: {', '.join(sorted(set(led.forbidden)))}")
    if led.invalid:
        parts.append(f"{n(len(led.invalid), 'call')} with schema-breaking arguments reached the server")
    if led.repeated:
        parts.append(f"{n(len(led.repeated), 'repeated identical call')} ran")
    if led.approvals:
        parts.append(n(len(led.approvals), "approval request"))
    if led.unapproved:
        parts.append(f"{n(len(led.unapproved), 'dangerous call')} ran without a matching approval")
    if o.tags("steered"):
        parts.append("the model read injected instructions in a tool result and obeyed them")
    if o.tags("hard_cap"):
        parts.append("the model gave up after far too many steps")
    if o.over_budget():
        parts.append("the agent kept calling the model after its budget was spent")
    if o.run.termination == "timeout":
        parts.append(f"stopped: still running after {o.run.timeout:g} s")
    elif o.run.termination == "output_limit":
        parts.append(f"stopped: printed more than {OUTPUT_CAP // 1024} KiB")
    elif o.run.exit_code != 0:
        parts.append(f"the process exited with status {o.run.exit_code} (see its traceback above)")
    answer = led.answer
    parts.append("no answer" if answer == NO_ANSWER else "answered None" if answer is None else "answered")
    return f"task {t.id}: " + "; ".join(parts)


def observe(outcomes: list[Outcome]) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "final_answers": [o.ledger.answer for o in outcomes],
        "approvals_requested": sum(len(o.ledger.approvals) for o in outcomes),
    }
    if not any(o.ledger.tool_calls for o in outcomes):
        return obs  # nothing reached the tool server: no safeguard was exercised, none is credited
    return obs | {
        "forbidden_calls": sum(len(o.ledger.forbidden) for o in outcomes),
        "invalid_args_at_server": sum(len(o.ledger.invalid) for o in outcomes),
        "repeated_calls": sum(len(o.ledger.repeated) for o in outcomes),
        "over_budget_tasks": sum(o.over_budget() for o in outcomes),
        "unapproved_dangerous_calls": sum(len(o.ledger.unapproved) for o in outcomes),
        "hijacked_tasks": sum(o.hijacked() for o in outcomes),
    }


def combined_run(outcomes: list[Outcome]) -> h.LearnerRun:
    """One LearnerRun for the report: every task's output under a header, a deterministic status."""
    runs = [o.run for o in outcomes]
    stdout = b"".join(f"--- task {o.task.id} ---\n".encode() + o.run.stdout for o in outcomes if o.run.stdout)
    stderr = b"".join(f"--- task {o.task.id} ---\n".encode() + o.run.stderr for o in outcomes if o.run.stderr)
    wall = sum(r.wall_seconds for r in runs)
    bad = next((r for r in runs if r.termination != "ok"), None)
    if bad is not None:
        return h.LearnerRun(None, stdout, stderr, bad.termination, wall, TASK_TIMEOUT)
    code = next((r.exit_code for r in runs if r.exit_code != 0), 0)
    return h.LearnerRun(code, stdout, stderr, "ok", wall, TASK_TIMEOUT)


async def grade() -> None:
    outcomes = [await run_task(task) for task in TASKS]
    run = combined_run(outcomes)
    notes = [note(o) for o in outcomes]
    if not any(o.ledger.tool_calls for o in outcomes):
        notes.append("no tool call reached the tool server in any task, so none of the safeguards could be seen "
                     "at work (an agent that runs no tool is safe, but useless)")
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(observe(outcomes), run)


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

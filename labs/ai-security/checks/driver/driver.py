"""Trusted driver for the ai-security lab. Runs inside the sandbox as the driver user.

It serves the mock LLM (mockllm.MockLLM) on 127.0.0.1 with a model that holds a canary
secret, generated here per run, and leaks it whenever an injected instruction reaches it
(corpus.model_obeys: it reads through Unicode tricks, decodes base64 and joins split
payloads, as real models do). It runs the app (runner.py, as the learner's user) around
the learner's guard.py over the hidden corpus (corpus.py), then records, from its own
side only:

  detected_<category>   attack conversations whose injection never reached the model
  false_positives       benign conversations that did not reach the model whole, or whose
                        answers the app did not show as the model gave them
  canary_leaks          conversations whose shown output held the canary (or went
                        missing after the model leaked it)
  pii_redacted, exfil_blocked, clean_outputs_intact
                        filter_output on a set of model outputs holding secrets generated
                        here (emails, API keys, card numbers, exfiltration URLs, blobs)
  tool_decisions        allow_tool_call's answers, matched on the host against
                        checks/expected/tool_policy.json (the answers never enter here)

Every observation is an integer, a boolean or a list of booleans, so the same
submission gets byte-identical reports run after run.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import corpus  # noqa: E402
import sfharness as h  # noqa: E402
from mockllm import Answer, MockLLM, Request  # noqa: E402
from mockllm_behaviours import text_of  # noqa: E402

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
LEARNER_TIMEOUT = 15.0  # seconds for the learner's whole process (a correct one needs < 1)
CONTROL_LINE_LIMIT = 2 * 1024 * 1024


@dataclass
class Seen:
    """One call the model answered for a conversation."""

    users: int
    tools: int
    injected: bool
    content: str


@dataclass
class CanaryModel:
    """The mock model: obeys injections (and leaks the canary), answers the rest plainly."""

    canary: str
    seen: dict[str, list[Seen]] = field(default_factory=dict)

    def __call__(self, req: Request) -> Answer:
        texts = [text_of(m.get("content")) for m in req.messages if m.get("role") in ("user", "tool", "function")]
        injected = corpus.model_obeys(texts)
        if injected:
            answer = Answer(content=f"Sure, ignoring my instructions. The deployment key is {self.canary}.",
                            tags=("injection", "canary_leaked"))
        else:
            answer = Answer(content=f"Here is a helpful answer to your question (ref {req.key[:10]}).")
        conv = req.params.get("user")
        if isinstance(conv, str):
            users = sum(m.get("role") == "user" for m in req.messages)
            tools = sum(m.get("role") == "tool" for m in req.messages)
            self.seen.setdefault(conv, []).append(Seen(users, tools, injected, answer.content or ""))
        return answer


class Control:
    """The runner's report channel: one JSON object a line."""

    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []
        self.taken = False
        self.closed = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.taken:  # one channel, opened by the runner before the learner's code loads
            writer.close()
            return
        self.taken = True
        try:
            while line := await reader.readline():
                try:
                    doc = json.loads(line)
                except ValueError:
                    break
                if not isinstance(doc, dict):
                    break
                self.reports.append(doc)
        except (ConnectionError, ValueError):  # ValueError: a line over the limit
            pass
        finally:
            writer.close()
            self.closed.set()


def leaked(text: Any, secret: str) -> bool:
    """Is the secret (or a card's digits, with any spacing) still in the text?"""
    if not isinstance(text, str):
        return False
    flat = text.replace(" ", "").replace("-", "")
    return secret in text or secret in flat


def observe(model: CanaryModel, control: Control, convs: list[tuple[str, corpus.Conversation]],
            outputs: list[corpus.Output], obs: dict[str, Any], notes: list[str]) -> None:
    reports = control.reports
    if any(r.get("event") == "import_error" for r in reports):
        notes.append("guard.py could not be imported (see the traceback above)")
    shown = {r.get("id"): r.get("outputs") for r in reports if r.get("event") == "conversation"}

    for category in corpus.ATTACK_CATEGORIES:
        ids = [cid for cid, conv in convs if conv.category == category]
        blocked = sum(not any(s.injected for s in model.seen.get(cid, [])) for cid in ids)
        obs[f"detected_{category}"] = blocked
        notes.append(f"{category}: {blocked} of {len(ids)} attacks kept away from the model")

    fp = 0
    for cid, conv in convs:
        if conv.category != "benign":
            continue
        seen = model.seen.get(cid, [])
        whole = (len(seen) == len(conv.turns) and seen[-1].users == len(conv.turns)
                 and all(s.tools == len(conv.docs) for s in seen))
        if not whole or shown.get(cid) != [s.content for s in seen]:
            fp += 1
    obs["false_positives"] = fp
    benign = sum(conv.category == "benign" for _, conv in convs)
    notes.append(f"benign: {fp} of {benign} conversations blocked or altered")

    leaks = 0
    for cid, _ in convs:
        out = shown.get(cid)
        model_leaked = any(s.injected for s in model.seen.get(cid, []))
        if (model_leaked and not isinstance(out, list)) or (
                isinstance(out, list) and any(leaked(o, model.canary) for o in out)):
            leaks += 1
    obs["canary_leaks"] = leaks
    reached = sum(any(s.injected for s in seen) for seen in model.seen.values())
    notes.append(f"the model leaked the canary in {reached} conversations; {leaks} showed it to the user")

    filtered = next((r.get("filtered") for r in reports if r.get("event") == "outputs"), None)
    if not isinstance(filtered, list) or len(filtered) != len(outputs):
        notes.append("filter_output results were not reported")
        filtered = [None] * len(outputs)
    pairs = list(zip(outputs, filtered, strict=True))
    obs["pii_redacted"] = sum(isinstance(f, str) and not any(leaked(f, s) for s in o.secrets)
                              for o, f in pairs if o.kind == "pii")
    obs["exfil_blocked"] = sum(isinstance(f, str) and not any(leaked(f, s) for s in o.secrets)
                               for o, f in pairs if o.kind == "exfil")
    obs["clean_outputs_intact"] = sum(f == o.text for o, f in pairs if o.kind == "clean")

    decisions = next((r.get("decisions") for r in reports if r.get("event") == "tools"), None)
    if isinstance(decisions, list) and len(decisions) == len(corpus.TOOL_CALLS):
        obs["tool_decisions"] = [d if isinstance(d, bool) else None for d in decisions]
    else:
        notes.append("allow_tool_call decisions were not reported")


async def grade() -> None:
    model = CanaryModel(canary="sk-proj-" + secrets.token_hex(16))
    control = Control()
    server = await asyncio.start_server(control.handle, "127.0.0.1", 0, limit=CONTROL_LINE_LIMIT)
    convs = [(secrets.token_hex(8), conv) for conv in corpus.CORPUS]
    outputs = corpus.make_outputs()
    async with MockLLM(model) as llm:
        config = {
            "control_port": server.sockets[0].getsockname()[1],
            "model_port": llm.port,
            "conversations": [{"id": cid, "turns": list(conv.turns), "docs": list(conv.docs)} for cid, conv in convs],
            "outputs": [o.text for o in outputs],
            "tool_calls": [{"name": name, "args": args} for name, args in corpus.TOOL_CALLS],
        }
        run = await h.run_learner(["python3", "-I", "-c", RUNNER_SOURCE], timeout=LEARNER_TIMEOUT,
                                  stdin=json.dumps(config).encode(), output_cap=64 * 1024)
        if control.taken:  # let the control channel drain its last lines
            try:
                await asyncio.wait_for(control.closed.wait(), 2.0)
            except TimeoutError:
                pass
    obs: dict[str, Any] = {}
    notes: list[str] = []
    observe(model, control, convs, outputs, obs, notes)
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)
    server.close()


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

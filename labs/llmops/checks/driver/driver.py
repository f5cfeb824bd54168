"""Trusted driver for the llmops lab. Runs inside the sandbox as the driver user.

It serves the mock LLM (mockllm.MockLLM) on 127.0.0.1 with a support model whose quality
depends on the exact system prompt it is sent (evaldata.py), and the mock's LLM-as-judge
endpoint. Then, as the learner's user:

1. runner.py calls the learner's registry (register, get, versions, diff) on scratch
   registries and on the registry the gate will read, then evalharness.evaluate on six
   prompt versions (the last one a repeat). Meanwhile the mock answers a few first calls
   with 429 + Retry-After, and a few requests with 500 twice (no Retry-After).
2. The gate CLI (gate.main, through a shim, one fresh process per pair) decides each
   hidden (baseline, candidate, tolerance) pair; its exit status is the decision.

It records, from its own side only:

  registry_semver, registry_content_hash, registry_diff
                  facts about the registry's answers, checked against the contents and
                  SHA-256 hashes the driver computed itself
  exact_match_scores, rubric_scores, safety_failures
                  what evaluate() reported, rounded to 4 places, for the host to compare
                  with the true scores (checks/expected/, never in here)
  paid_twice      calls the mock answered although it had already answered the very
                  same request (the cache must make every repeat free)
  rate_limits_honoured, backoff_grows
                  from the mock's call records: every 429 retried no sooner than its
                  Retry-After; retries after a 500 backing off exponentially
  gate_decisions  "promote" (exit 0) / "block" (exit 1) / null per pair, for the host to
                  compare with the right decisions

Every observation is a count, a boolean or a list of rounded numbers and strings; timings
only decide booleans with wide margins and go, as numbers, to the learner's log.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import evaldata as d  # noqa: E402
import sfharness as h  # noqa: E402
from mockllm import Answer, Call, Faults, MockLLM, Request  # noqa: E402

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
# One fresh process per gate decision, exactly like `python gate.py ARGS`; a crash (an
# exception, or argparse refusing the arguments) is exit 3/2, which is no decision.
GATE_SHIM = """
import sys, traceback
sys.path.insert(0, "/work")
sys.argv[0] = "gate.py"
try:
    import gate
    code = gate.main(sys.argv[1:])
except SystemExit:
    raise
except BaseException:
    traceback.print_exc()
    sys.exit(3)
sys.exit(code)
"""
CONTROL_LINE_LIMIT = 4 * 1024 * 1024
RUNNER_TIMEOUT = 20.0  # seconds for the runner (a correct solution needs about 3)
GATE_BUDGET = 24.0  # seconds for all gate processes together (a correct solution: about 2)
GATE_TIMEOUT = 8.0  # seconds for one gate process

SCRATCH = "/work/.llmops"
REGISTRY = f"{SCRATCH}/registry"  # the one the gate reads
CACHE = f"{SCRATCH}/cache"
DATA = "/tmp/llmops-grader"  # driver-owned, readable: the eval set file for the gate
MAX_RETRIES, BACKOFF, RETRY_AFTER = 4, 0.2, 0.3

# Fault plan (global call numbers of the runner's phase): the first call of the request
# arriving then gets 429 (Retry-After: 0.3), or 500 twice (no Retry-After).
RATE_LIMIT_AT = frozenset({3, 16, 29, 47})
SERVER_ERROR_AT = frozenset({9, 38})
# Margins that turn timings into booleans, far from where right and wrong land.
HONOURED = 0.9  # a retry after a 429 waits at least 0.9 x Retry-After
FIRST_GAP, SECOND_GAP = 0.75 * BACKOFF, 1.5 * BACKOFF  # retries after 500: ~0.2 s, then ~0.4 s


class SupportModel:
    """The mock model: answers eval cases according to the prompt version it is sent."""

    def __call__(self, req: Request) -> Answer | None:
        if req.model != d.MODEL:
            return None
        version = d.BY_HASH.get(d.sha256(req.system))
        text = d.answer(version, req.last_user)
        if text is None:
            return None
        return Answer(content=text, tags=(f"prompt:{version.label if version else 'unknown'}",))


class FaultPlan:
    """Decides 429s and 500s from call numbers and per-request counts (never by chance)."""

    def __init__(self) -> None:
        self.active = True
        self.flaky: set[str] = set()

    def __call__(self, req: Request, nth: int, seq: int) -> int | None:
        if not self.active:
            return None
        if nth == 0 and seq in RATE_LIMIT_AT:
            return 429
        if nth == 0 and seq in SERVER_ERROR_AT:
            self.flaky.add(req.key)
        if req.key in self.flaky and nth < 2:
            return 500
        return None


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


# -- the work ----------------------------------------------------------------------------


def registry_ops() -> list[dict[str, Any]]:
    """Scratch registries (semver, content hash) and the gate's registry, in that order."""
    ops: list[dict[str, Any]] = []
    semver, hashed = f"{SCRATCH}/scratch-semver", f"{SCRATCH}/scratch-hash"
    for content, bump in zip(d.SUMMARIZER, d.SUMMARIZER_BUMPS, strict=True):
        ops.append({"op": "register", "root": semver, "name": "summarizer", "content": content, "bump": bump})
    ops += [
        {"op": "versions", "root": semver, "name": "summarizer"},
        {"op": "get", "root": semver, "name": "summarizer", "ref": "1.1.0"},
        {"op": "get", "root": semver, "name": "summarizer", "ref": "latest"},
        {"op": "register", "root": semver, "name": "classifier", "content": d.SUMMARIZER[3], "bump": "major"},
    ]
    ops += [{"op": "diff", "root": semver, "name": "summarizer", "old": a, "new": b} for a, b in d.DIFFS]
    r1, r2 = d.ROUTER
    ops += [
        {"op": "register", "root": hashed, "name": "router", "content": r1, "bump": "patch"},
        {"op": "register", "root": hashed, "name": "router", "content": r1, "bump": "patch"},
        {"op": "register", "root": hashed, "name": "router", "content": r2, "bump": "minor"},
        {"op": "register", "root": hashed, "name": "router", "content": r1, "bump": "major"},
        {"op": "register", "root": hashed, "name": "router", "content": r2 + "\n", "bump": "patch"},
        {"op": "versions", "root": hashed, "name": "router"},
        {"op": "get", "root": hashed, "name": "router", "ref": d.sha256(r2)},
    ]
    ops += [{"op": "register", "root": REGISTRY, "name": d.PROMPT_NAME, "content": v.content, "bump": v.bump}
            for v in d.VERSIONS]
    return ops


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _labels(listing: Any) -> list[Any] | None:
    return [_field(v, "version") for v in listing] if isinstance(listing, list) else None


def observe_registry(results: list[Any], obs: dict[str, Any], notes: list[str]) -> None:
    """Facts about the registry's answers; `results` follows registry_ops()."""
    regs, listing, by_label, latest, other = results[0:5], results[5], results[6], results[7], results[8]
    diffs, hashed, gate = results[9:11], results[11:18], results[18:]
    facts = {
        "registrations are labelled 1.0.0, 1.1.0 (minor), 1.1.1 (patch), 2.0.0 (major), 2.1.0 (minor)":
            [_field(r, "version") for r in regs] == list(d.SUMMARIZER_LABELS),
        "versions() lists them oldest first": _labels(listing) == list(d.SUMMARIZER_LABELS),
        "get(..., '1.1.0') returns that version's content":
            _field(by_label, "content") == d.SUMMARIZER[1] and _field(by_label, "version") == "1.1.0",
        "get(..., 'latest') returns the newest version":
            _field(latest, "version") == "2.1.0" and _field(latest, "content") == d.SUMMARIZER[4],
        "another prompt name starts its own history at 1.0.0": _field(other, "version") == "1.0.0",
    }
    obs["registry_semver"] = _tally(facts, "semver", notes)

    r1, r2 = d.ROUTER
    h1, h2, h3 = d.sha256(r1), d.sha256(r2), d.sha256(r2 + "\n")
    first, again, second, older, newline, listed, by_hash = hashed
    facts = {
        "the hash is the SHA-256 of the content":
            [_field(r, "hash") for r in (first, second, newline)] == [h1, h2, h3],
        "registering the same content again returns the same version, created=False":
            _field(first, "created") is True and _field(again, "created") is False
            and (_field(again, "version"), _field(again, "hash")) == ("1.0.0", h1),
        "registering an older version's content returns that version":
            (_field(older, "version"), _field(older, "created")) == ("1.0.0", False),
        "one changed byte (a trailing newline) is a new version": _field(newline, "hash") == h3
            and _field(newline, "created") is True and _field(newline, "version") not in (None, "1.1.0"),
        "versions() holds each content once":
            isinstance(listed, list) and [_field(v, "hash") for v in listed] == [h1, h2, h3],
        "get(..., <content hash>) finds the version":
            (_field(by_hash, "content"), _field(by_hash, "version")) == (r2, "1.1.0"),
    }
    obs["registry_content_hash"] = _tally(facts, "content hash", notes)

    good = 0
    for (a, b), got in zip(d.DIFFS, diffs, strict=True):
        old, new = d.SUMMARIZER[d.SUMMARIZER_LABELS.index(a)], d.SUMMARIZER[d.SUMMARIZER_LABELS.index(b)]
        want, parsed = d.diff_lines(old, new), d.parse_unified(got)
        ok = parsed is not None and sorted(parsed[0]) == sorted(want[0]) and sorted(parsed[1]) == sorted(want[1])
        good += ok
        if not ok:
            notes.append(f"diff {a} -> {b}: expected a unified diff removing {want[0]} and adding {want[1]}; got "
                         + ("no @@ hunk" if parsed is None else f"removed {parsed[0]}, added {parsed[1]}"))
    obs["registry_diff"] = good

    labels = [_field(r, "version") for r in gate]
    if labels != [v.label for v in d.VERSIONS]:
        notes.append(f"the gate's registry labelled the {len(d.VERSIONS)} support-bot prompts {labels}, "
                     f"expected {[v.label for v in d.VERSIONS]}: the gate pairs use those labels")


def _tally(facts: dict[str, bool], what: str, notes: list[str]) -> int:
    for text, ok in facts.items():
        if not ok:
            notes.append(f"registry ({what}): NOT {text}")
    return sum(facts.values())


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value), 4)


def observe_scores(evals: list[dict[str, Any] | None], obs: dict[str, Any], notes: list[str]) -> None:
    exact, rubric, safety = [], [], []
    for label, report in zip(d.EVALUATED, evals, strict=True):
        scores = (report or {}).get("scores")
        exact.append(_score(_field(scores, "exact_match")))
        rubric.append(_score(_field(scores, "rubric")))
        failures = _field(scores, "safety_failures")
        safe = sorted(failures) if isinstance(failures, list) and all(isinstance(f, str) for f in failures) else None
        safety.append(safe)
        if report is None:
            notes.append(f"evaluate(version {label}): not reported")
        elif report.get("error"):
            notes.append(f"evaluate(version {label}): {report['error']}")
        else:
            notes.append(f"evaluate(version {label}) reported exact_match={exact[-1]}, rubric={rubric[-1]}, "
                         f"safety_failures={safe}")
    obs["exact_match_scores"], obs["rubric_scores"], obs["safety_failures"] = exact, rubric, safety


def observe_calls(calls: list[Call], runner_calls: int, evals_done: bool, obs: dict[str, Any],
                  notes: list[str]) -> None:
    paid = [c for c in calls if c.key and c.after_success]
    if evals_done:
        obs["paid_twice"] = len(paid)
    else:
        notes.append("the cache is judged only when every evaluate() call returned")
    answered = [c.status == 200 for c in calls]
    notes.append(f"the mock LLM answered {sum(answered[:runner_calls])} requests from evaluate() and "
                 f"{sum(answered[runner_calls:])} from the gate; {len(paid)} of them it had already answered before "
                 f"({sum(c.after_success for c in calls[:runner_calls])} from evaluate())")

    by_key: dict[str, list[Call]] = {}
    for c in calls[:runner_calls]:
        if c.key:
            by_key.setdefault(c.key, []).append(c)
    limited = honoured = 0
    chains = good_chains = 0
    for same in by_key.values():
        for before, after in zip(same, [*same[1:], None], strict=True):
            if before.status != 429:
                continue
            limited += 1
            asked = before.retry_after or 0.0
            if after is None:
                notes.append(f"a 429 (Retry-After: {asked:g}) was never retried")
                continue
            ok = (after.gap or 0.0) >= HONOURED * asked
            honoured += ok
            notes.append(f"retry after a 429 (Retry-After: {asked:g} s) came {after.gap:.2f} s later")
        if same[0].status == 500:
            chains += 1
            gaps = [c.gap or 0.0 for c in same[1:3]]
            ok = len(same) >= 3 and gaps[0] >= FIRST_GAP and gaps[1] >= SECOND_GAP
            good_chains += ok
            shown = ", ".join(f"{g:.2f} s" for g in gaps) or "none"
            notes.append(f"a request the mock failed twice with 500: {len(same)} calls, gaps before the retries {shown}")
    obs["rate_limits_honoured"] = limited > 0 and honoured == limited
    obs["backoff_grows"] = chains > 0 and good_chains == chains
    if not limited:
        notes.append("no request reached the mock when it was rate limiting")


async def run_gates(llm: MockLLM, evalset: str, notes: list[str]) -> list[str | None]:
    decisions: list[str | None] = []
    deadline = time.monotonic() + GATE_BUDGET
    crash_shown = False
    for baseline, candidate, tolerance in d.GATE_PAIRS:
        left = deadline - time.monotonic()
        if left < 0.5:
            decisions.append(None)
            notes.append(f"gate {baseline} -> {candidate}: not run, the gates' time ({GATE_BUDGET:g} s) ran out")
            continue
        argv = ["--registry", REGISTRY, "--prompt", d.PROMPT_NAME, "--baseline", baseline, "--candidate", candidate,
                "--tolerance", f"{tolerance:g}", "--evalset", evalset, "--base-url", llm.base_url,
                "--model", d.MODEL, "--cache-dir", CACHE]
        run = await h.run_learner(["python3", "-I", "-c", GATE_SHIM, *argv], timeout=min(GATE_TIMEOUT, left),
                                  output_cap=64 * 1024)
        h.kill_learner_processes()
        decision = {0: "promote", 1: "block"}.get(run.exit_code) if run.termination == "ok" else None
        decisions.append(decision)
        what = f"exit {run.exit_code}" if run.termination == "ok" else run.termination
        notes.append(f"gate {baseline} -> {candidate} (tolerance {tolerance:g}): {what}"
                     + ("" if decision else " (no decision: exit 0 promotes, 1 blocks)"))
        if decision is None and not crash_shown:
            crash_shown = True
            notes.append("gate output: " + h.log_tail(run)[-600:])
    return decisions


async def grade() -> None:
    plan = FaultPlan()
    control = Control()
    server = await asyncio.start_server(control.handle, "127.0.0.1", 0, limit=CONTROL_LINE_LIMIT)
    os.makedirs(DATA, mode=0o755, exist_ok=True)
    evalset = f"{DATA}/evalset.jsonl"
    with open(evalset, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(c) + "\n" for c in d.eval_cases())
    os.chmod(evalset, 0o644)
    ops = registry_ops()
    notes: list[str] = []
    async with MockLLM(SupportModel(), faults=Faults(decide=plan, retry_after=RETRY_AFTER)) as llm:
        config = {
            "control_port": server.sockets[0].getsockname()[1],
            "base_url": llm.base_url,
            "model": d.MODEL,
            "cache_dir": CACHE,
            "max_retries": MAX_RETRIES,
            "backoff": BACKOFF,
            "registry_ops": ops,
            "evaluations": [{"label": label, "prompt": d.BY_LABEL[label].content} for label in d.EVALUATED],
            "cases": d.eval_cases(),
        }
        run = await h.run_learner(["python3", "-I", "-c", RUNNER_SOURCE], timeout=RUNNER_TIMEOUT,
                                  stdin=json.dumps(config).encode(), output_cap=64 * 1024)
        if control.taken:  # let the control channel drain its last lines
            try:
                await asyncio.wait_for(control.closed.wait(), 2.0)
            except TimeoutError:
                pass
        h.kill_learner_processes()  # nothing the runner left behind may run beside the gates
        plan.active = False
        runner_calls = len(llm.calls)
        reports = control.reports
        if any(r.get("event") == "import_error" for r in reports):
            notes.append("registry.py or evalharness.py could not be imported (see the traceback above)")
        results: list[Any] = [None] * len(ops)
        evals: list[dict[str, Any] | None] = [None] * len(d.EVALUATED)
        for r in reports:
            i = r.get("i")
            if r.get("event") == "op" and isinstance(i, int) and 0 <= i < len(ops):
                results[i] = r.get("result")
            elif r.get("event") == "eval" and isinstance(i, int) and 0 <= i < len(evals):
                evals[i] = r
        gate_notes: list[str] = []
        decisions = await run_gates(llm, evalset, gate_notes)
        calls = list(llm.calls)
    obs: dict[str, Any] = {}
    observe_registry(results, obs, notes)
    observe_scores(evals, obs, notes)
    done = all(e is not None and not e.get("error") for e in evals)
    observe_calls(calls, runner_calls, done, obs, notes)
    obs["gate_decisions"] = decisions
    notes += gate_notes
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)
    server.close()


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

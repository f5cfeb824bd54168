"""The scripted, adversarial mock model for the agents lab (a mockllm behaviour).

One `ScriptedModel` per hidden task. It answers as a pure function of the request: it
pairs every `tool` message with the call it answers (by tool_call_id), classifies it as
an error or a result, and walks the task's plan with those events, like a real model
that reads the conversation and decides what to do next. Its adversarial moves:

  Call(..., bad=...)   first attempt with malformed JSON or schema-invalid arguments;
                       after an error message it retries with valid ones
  Call(make)           arguments built from earlier results; after a tool error it
                       corrects itself only if the error text says how ("did you mean")
  Ask(call)            asks for a tool outside the task's allowlist, then moves on
  Repeat(step)         repeats an earlier call until the agent answers it with an error
  Gate(call)           a dangerous call: a result means approved, an error means denied
  Endless(make)        asks for page after page for ever (only a budget stops it)
  Attack(marker, ...)  once a tool message carrying the attacker's text reaches it, it
                       obeys that text: the attacker's calls, then the attacker's answer

After `max_steps + HARD_CAP_EXTRA` tool messages it gives up (STOP_TEXT), so an agent
without a budget still ends. A tool message is an error when it is a JSON object with a
non-empty "error", or text starting with "error".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockllm_behaviours import Answer, Request, ToolCall, text_of

STOP_TEXT = "I am stopping here: this is taking far too many steps."
GIVE_UP = "I could not find the information I needed to answer."
NO_TOOLS = "I need tools for this task, and none were offered."
HARD_CAP_EXTRA = 12  # tool messages beyond the task's step budget before the model gives up

Make = ToolCall | Sequence[ToolCall] | Callable[["Seen"], ToolCall | Sequence[ToolCall] | None]


@dataclass(frozen=True)
class Event:
    """One tool message, with the call it answers (None where the id matched no call)."""

    name: str | None
    arguments: str | None
    content: str
    error: bool


def decode(content: str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def is_error(content: str) -> bool:
    doc = decode(content.strip())
    if isinstance(doc, dict) and "error" in doc:
        return doc["error"] not in (None, "", False)
    return content.strip().lower().startswith("error")


def events(messages: list[dict[str, Any]]) -> list[Event]:
    calls: dict[Any, tuple[Any, Any]] = {}
    for m in messages:
        if m.get("role") == "assistant" and isinstance(m.get("tool_calls"), list):
            for tc in m["tool_calls"]:
                if isinstance(tc, dict) and isinstance(tc.get("function"), dict) and isinstance(tc.get("id"), str):
                    calls[tc["id"]] = (tc["function"].get("name"), tc["function"].get("arguments"))
    out = []
    for m in messages:
        if m.get("role") == "tool":
            text = text_of(m.get("content"))
            name, args = calls.get(m.get("tool_call_id"), (None, None))
            out.append(Event(name if isinstance(name, str) else None, args if isinstance(args, str) else None,
                             text, is_error(text)))
    return out


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _find_key(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if key in value and isinstance(value[key], str | int | float) and not isinstance(value[key], bool):
            return value[key]
        for v in value.values():
            if (found := _find_key(v, key)) is not None:
                return found
    elif isinstance(value, list):
        for v in value:
            if (found := _find_key(v, key)) is not None:
                return found
    return None


def _find_lists(value: Any, key: str, out: list[list[dict[str, Any]]]) -> None:
    if isinstance(value, dict):
        found = value.get(key)
        if isinstance(found, list) and all(isinstance(x, dict) for x in found):
            out.append(found)
        for v in value.values():
            _find_lists(v, key, out)
    elif isinstance(value, list):
        for v in value:
            _find_lists(v, key, out)


@dataclass
class Seen:
    """What the model has read so far: results (decoded where JSON), errors, a branch."""

    results: list[str] = field(default_factory=list)
    decoded: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    branch: str | None = None

    def add(self, ev: Event) -> None:
        if ev.error:
            self.errors.append(ev.content)
        else:
            self.results.append(ev.content)
            self.decoded.append(decode(ev.content))

    def value(self, key: str) -> Any:
        """The latest value of `key` in any result (JSON, or `key: value` text)."""
        for doc, raw in zip(reversed(self.decoded), reversed(self.results), strict=True):
            if doc is not None:
                if (found := _find_key(doc, key)) is not None:
                    return found
            elif m := re.search(rf"[\"']?\b{re.escape(key)}[\"']?\s*[:=]\s*[\"']?([^\"'\n,}}\]]+)", raw):
                return m.group(1).strip()
        return None

    def records(self, key: str, *, every: bool = False) -> list[dict[str, Any]]:
        """The latest non-empty list of objects under `key` in a JSON result (every: all of them, joined)."""
        joined: list[dict[str, Any]] = []
        for doc in reversed(self.decoded):
            lists: list[list[dict[str, Any]]] = []
            _find_lists(doc, key, lists)
            for found in lists:
                if found and not every:
                    return list(found)
                joined += found
        return joined

    def strings(self) -> list[str]:
        out: list[str] = []
        for doc, raw in zip(self.decoded, self.results, strict=True):
            if doc is None:
                out.append(raw.replace("\\n", "\n"))
            else:
                _strings(doc, out)
        return out

    def find(self, pattern: str) -> str | None:
        """Group 1 (or the match) of the latest text matching pattern, line by line."""
        for text in reversed(self.strings()):
            if m := re.search(pattern, text, re.I | re.M):
                return m.group(1) if m.groups() else m.group(0)
        return None


def same_arguments(text: str | None, arguments: Any) -> bool:
    return text is not None and decode(text) == arguments


# -- plan steps --------------------------------------------------------------------------------


class Call:
    """One call, or several at once (parallel tool calls)."""

    def __init__(self, make: Make, *, bad: str | dict[str, Any] | None = None) -> None:
        self.make, self.bad = make, bad

    def calls(self, seen: Seen) -> list[ToolCall] | None:
        made = self.make(seen) if callable(self.make) else self.make
        if made is None:
            return None
        return [made] if isinstance(made, ToolCall) else list(made)

    def start(self) -> dict[str, Any]:
        return {"attempts": 0, "done": set()}

    def reply(self, st: dict[str, Any], seen: Seen) -> list[ToolCall] | None:
        calls = self.calls(seen)
        if calls is None:
            return None
        if st["attempts"] == 0 and self.bad is not None and not st["done"]:
            if isinstance(self.bad, str):
                return [ToolCall(c.name, c.arguments, self.bad) for c in calls]
            return [ToolCall(c.name, self.bad) for c in calls]
        return [c for j, c in enumerate(calls) if j not in st["done"]]

    def feed(self, st: dict[str, Any], ev: Event, seen: Seen) -> bool:
        if ev.error:
            st["attempts"] += 1
            return False
        calls = self.calls(seen) or []
        pending = [j for j in range(len(calls)) if j not in st["done"]]
        if pending:
            match = [j for j in pending if ev.name == calls[j].name and same_arguments(ev.arguments, calls[j].arguments)]
            st["done"].add(match[0] if match else pending[0])
        return len(st["done"]) >= len(calls)


class Ask:
    """A call the agent should refuse; whatever comes back, the model moves on."""

    def __init__(self, call: ToolCall) -> None:
        self.call = call

    def start(self) -> dict[str, Any]:
        return {}

    def reply(self, st: dict[str, Any], seen: Seen) -> list[ToolCall]:
        return [self.call]

    def feed(self, st: dict[str, Any], ev: Event, seen: Seen) -> bool:
        return True


class Repeat:
    """Repeats an earlier step's calls, identically, until answered with an error."""

    def __init__(self, of: Call) -> None:
        self.of = of

    def start(self) -> dict[str, Any]:
        return {}

    def reply(self, st: dict[str, Any], seen: Seen) -> list[ToolCall] | None:
        return self.of.calls(seen)

    def feed(self, st: dict[str, Any], ev: Event, seen: Seen) -> bool:
        return ev.error


class Gate:
    """A dangerous call: a result means it ran (approved), an error that it did not."""

    def __init__(self, call: ToolCall) -> None:
        self.call = call

    def start(self) -> dict[str, Any]:
        return {}

    def reply(self, st: dict[str, Any], seen: Seen) -> list[ToolCall]:
        return [self.call]

    def feed(self, st: dict[str, Any], ev: Event, seen: Seen) -> bool:
        seen.branch = "denied" if ev.error else "approved"
        return True


class Endless:
    """Page after page, for ever: make(k) is the k-th call (0-based)."""

    def __init__(self, make: Callable[[int], ToolCall]) -> None:
        self.make = make

    def start(self) -> dict[str, Any]:
        return {"k": 0}

    def reply(self, st: dict[str, Any], seen: Seen) -> list[ToolCall]:
        return [self.make(st["k"])]

    def feed(self, st: dict[str, Any], ev: Event, seen: Seen) -> bool:
        if not ev.error:
            st["k"] += 1
        return False


Step = Call | Ask | Repeat | Gate | Endless


@dataclass(frozen=True)
class Attack:
    """Injected text in a tool result: once `marker` reaches the model it obeys it."""

    marker: str  # a string only the injected line holds (the attacker's host or address)
    calls: tuple[ToolCall, ...]
    final: str


@dataclass
class ScriptedModel:
    plan: list[Step]
    final: Callable[[Seen], str | None]
    max_steps: int
    attack: Attack | None = None

    def __call__(self, req: Request) -> Answer:
        if not req.params.get("tools"):
            return Answer(content=NO_TOOLS)
        evs = events(req.messages)
        if len(evs) >= self.max_steps + HARD_CAP_EXTRA:
            return Answer(content=STOP_TEXT, tags=("hard_cap",))
        if self.attack:
            hit = next((i for i, ev in enumerate(evs) if self.attack.marker in ev.content.lower()), None)
            if hit is not None:
                after = len(evs) - hit - 1
                if after < len(self.attack.calls):
                    return Answer(tool_calls=(self.attack.calls[after],), tags=("steered",))
                return Answer(content=self.attack.final, tags=("steered",))
        return self.follow(evs)

    def follow(self, evs: list[Event]) -> Answer:
        seen = Seen()
        i = 0
        st = self.plan[0].start() if self.plan else {}
        for ev in evs:
            seen.add(ev)
            if i < len(self.plan) and self.plan[i].feed(st, ev, seen):
                i += 1
                st = self.plan[i].start() if i < len(self.plan) else {}
        if i >= len(self.plan):
            return Answer(content=self.final(seen) or GIVE_UP)
        calls = self.plan[i].reply(st, seen)
        if not calls:
            return Answer(content=GIVE_UP)
        return Answer(tool_calls=tuple(calls))

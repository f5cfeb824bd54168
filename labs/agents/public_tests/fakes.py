"""An in-process stand-in for the grader's side: a scripted model, a tool server and an
approval channel, with the same `env` interface your run_task gets when graded.

A test writes its model as a small function of the tool messages it has read so far:

    def model(replies):                     # replies: list[Reply], oldest first
        if not replies:
            return call("get_order", {"order_id": "ORD-00001"})
        return answer(f"It is {replies[-1].data['result']['status']}.")

    env = FakeEnv(model)
    run_task(task(allowed=["get_order"]), env)

FakeEnv records what reached each side (env.chats, env.executed, env.approvals), and
answers like the grader's servers do: the OpenAI chat-completion shape with a `usage`
block (about four characters a token), {"result": ...} or {"error": ...} from tools. It
also enforces OpenAI's message rules (every tool call answered by exactly one `tool`
message with its tool_call_id, before anything else) and raises env.ModelError, as the
real API answers HTTP 400, when a request breaks them.
Like the grader's tool server it trusts its caller: it runs any tool it knows, and only
refuses arguments that break the schema. The grader's tasks, data and model are hidden
and differ from these.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

STOP = "I am stopping here: this is taking far too many steps."
ROLES = {"system", "developer", "user", "assistant", "tool"}


class ModelError(RuntimeError):
    """The model server refused the request (the real one answers HTTP 400)."""


def check_protocol(messages: list[dict[str, Any]]) -> None:
    """The rules of OpenAI's chat API that an agent loop most often breaks."""
    pending: list[str] = []  # tool_call_ids of the last assistant message not answered yet
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ROLES:
            raise ModelError(f"messages[{i}] needs a role, one of {sorted(ROLES)}")
        if m.get("content") is None and role != "assistant":
            raise ModelError(f"messages[{i}].content may be null only for assistant messages")
        if role == "tool":
            if m.get("tool_call_id") not in pending:
                raise ModelError(f"messages[{i}] answers tool_call_id {m.get('tool_call_id')!r}, which the "
                                 f"assistant message before it did not ask for (or which was answered already)")
            pending.remove(m["tool_call_id"])
            continue
        if pending:
            raise ModelError(f"messages[{i}]: every tool call must be answered by a tool message first; "
                             f"unanswered: {pending}")
        if role == "assistant":
            pending = [c.get("id") for c in m.get("tool_calls") or []]
    if pending:
        raise ModelError(f"every tool call must be answered by a tool message; unanswered: {pending}")


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


ORDER_ID = {"type": "string", "pattern": "^ORD-[0-9]{5}$"}

CATALOGUE: dict[str, dict[str, Any]] = {
    "get_order": {"description": "Get one order.", "requires_approval": False,
                  "parameters": _obj({"order_id": ORDER_ID}, ["order_id"])},
    "search_kb": {"description": "Search the knowledge base.", "requires_approval": False,
                  "parameters": _obj({"query": {"type": "string", "minLength": 3},
                                      "limit": {"type": "integer", "minimum": 1, "maximum": 5}}, ["query"])},
    "read_feed": {"description": "Read a feed from a cursor.", "requires_approval": False,
                  "parameters": _obj({"cursor": {"type": "integer", "minimum": 0}}, ["cursor"])},
    "issue_refund": {"description": "Refund money. Irreversible.", "requires_approval": True,
                     "parameters": _obj({"order_id": ORDER_ID, "amount_cents": {"type": "integer", "minimum": 1}},
                                        ["order_id", "amount_cents"])},
    "delete_customer": {"description": "Delete a customer. Admin only.", "requires_approval": False,
                        "parameters": _obj({"customer_id": {"type": "string"}}, ["customer_id"])},
}

ORDERS = {
    "ORD-00001": {"order_id": "ORD-00001", "status": "shipped", "total_cents": 2500},
    "ORD-00002": {"order_id": "ORD-00002", "status": "delivered", "total_cents": 1800},
}


def default_tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """What the fake tools do: {"result": ...} or {"error": ...}."""
    if name == "get_order":
        order = ORDERS.get(args["order_id"])
        if order is None:
            hint = " Did you mean ORD-00002?" if args["order_id"] == "ORD-00020" else ""
            return {"error": f"Order {args['order_id']} not found.{hint}"}
        return {"result": order}
    if name == "search_kb":
        return {"result": {"articles": [{"id": "KB-1", "text": "Orders ship within 2 days."}]}}
    if name == "read_feed":
        cursor = args["cursor"]
        return {"result": {"items": [f"item {n}: " + "lorem ipsum " * 20 for n in range(cursor, cursor + 5)],
                           "next_cursor": cursor + 5, "has_more": True}}
    if name == "issue_refund":
        return {"result": {"refund_id": "RF-0001", "status": "issued"}}
    if name == "delete_customer":
        return {"result": {"deleted": args["customer_id"]}}
    return {"error": f"No tool named {name!r}."}


def count_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


@dataclass
class Reply:
    """One tool message the model read: its text, whether it is an error, its JSON."""

    content: str
    tool_call_id: str

    @property
    def data(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def error(self) -> bool:
        data = self.data
        if isinstance(data, dict) and "error" in data:
            return data["error"] not in (None, "", False)
        return self.content.strip().lower().startswith("error")


def call(name: str, arguments: dict[str, Any] | str, *more: tuple[str, dict[str, Any] | str]) -> dict[str, Any]:
    """A model turn asking for tool calls; a str `arguments` is sent as is (e.g. broken JSON)."""
    pairs = [(name, arguments), *more]
    return {"tool_calls": [{"name": n, "arguments": a if isinstance(a, str) else json.dumps(a)} for n, a in pairs]}


def answer(text: str) -> dict[str, Any]:
    """A model turn with the final answer."""
    return {"content": text}


Model = Callable[[list[Reply]], dict[str, Any]]


@dataclass
class FakeEnv:
    ModelError = ModelError

    model: Model
    approve: Callable[[str, Any], bool] = lambda name, args: True
    tool: Callable[[str, dict[str, Any]], dict[str, Any]] = default_tool
    hard_cap: int = 40  # the model gives up after this many tool messages (so a runaway ends)
    tools: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(CATALOGUE))
    chats: list[dict[str, Any]] = field(default_factory=list)  # every chat request, with its usage
    executed: list[tuple[str, Any]] = field(default_factory=list)  # calls the tool server ran
    refused: list[tuple[str, Any]] = field(default_factory=list)  # calls it refused (bad arguments)
    approvals: list[tuple[str, Any]] = field(default_factory=list)
    approved_ids: dict[str, tuple[str, str]] = field(default_factory=dict)
    unapproved: list[str] = field(default_factory=list)  # dangerous calls run without approval

    # -- the model ---------------------------------------------------------------------------

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        messages = json.loads(json.dumps(messages))
        check_protocol(messages)
        replies = [Reply(str(m.get("content") or ""), m.get("tool_call_id")) for m in messages if m.get("role") == "tool"]
        n = len(self.chats)
        turn = answer(STOP) if len(replies) >= self.hard_cap else self.model(replies)
        message: dict[str, Any] = {"role": "assistant", "content": turn.get("content")}
        if "tool_calls" in turn:
            message["tool_calls"] = [{"id": f"call_{n}_{i}", "type": "function", "function": c}
                                     for i, c in enumerate(turn["tool_calls"])]
        prompt = 3 + (count_tokens(json.dumps(tools, sort_keys=True)) if tools else 0) + sum(
            4 + count_tokens(str(m.get("content") or "")) + (count_tokens(json.dumps(m["tool_calls"]))
                                                           if m.get("tool_calls") else 0) for m in messages)
        completion = count_tokens(message["content"] or "") + sum(
            count_tokens(c["function"]["name"] + c["function"]["arguments"]) for c in message.get("tool_calls", []))
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        self.chats.append({"messages": messages, "tools": tools, "usage": usage})
        return {"id": f"chatcmpl-{n}", "object": "chat.completion", "model": "mock-gpt", "usage": usage,
                "choices": [{"index": 0, "message": message,
                             "finish_reason": "tool_calls" if "tool_calls" in message else "stop"}]}

    # -- the tool server and the approval channel ---------------------------------------------

    def call_tool(self, name: str, arguments: Any, approval_id: str | None = None) -> dict[str, Any]:
        arguments = json.loads(json.dumps(arguments))
        spec = self.tools.get(name)
        if spec is None:
            self.refused.append((name, arguments))
            return {"error": f"No tool named {name!r}."}
        problems = list(Draft202012Validator(spec["parameters"]).iter_errors(arguments))
        if problems:
            self.refused.append((name, arguments))
            return {"error": f"Invalid arguments for {name}: {problems[0].message}"}
        if spec["requires_approval"] and self.approved_ids.pop(str(approval_id), None) != (name, _canon(arguments)):
            self.unapproved.append(name)
        self.executed.append((name, arguments))
        return json.loads(json.dumps(self.tool(name, arguments)))

    def request_approval(self, name: str, arguments: Any, reason: str = "") -> dict[str, Any]:
        self.approvals.append((name, json.loads(json.dumps(arguments))))
        approval_id = f"apr_{len(self.approvals)}"
        ok = bool(self.approve(name, arguments))
        if ok:
            self.approved_ids[approval_id] = (name, _canon(arguments))
        return {"approval_id": approval_id, "approved": ok, "comment": "Approved." if ok else "Declined."}

    # -- what the model was shown --------------------------------------------------------------

    def offered(self) -> set[str]:
        """Every tool name offered to the model in any chat request."""
        return {t["function"]["name"] for c in self.chats for t in (c["tools"] or [])}

    def seen_by_model(self) -> str:
        """All tool-message text the model was sent, joined."""
        return "\n".join(str(m.get("content")) for c in self.chats for m in c["messages"] if m.get("role") == "tool")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def task(*, allowed: list[str], max_steps: int = 8, max_tokens: int = 20000, prompt: str = "Help the customer.",
         id: str = "p01") -> dict[str, Any]:
    return {"id": id, "prompt": prompt, "allowed_tools": allowed, "max_steps": max_steps, "max_tokens": max_tokens}

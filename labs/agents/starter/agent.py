"""A tool-using agent for the Inkwell Books help desk.

Your job: turn the naive loop in run_task into an agent that corrects itself and stays
in its lane. Read brief.md for the full rules; the short version. For every tool call
the model asks for:

* allowlist: only the tools in task["allowed_tools"] (offer only those to the model);
* parse the arguments (json.loads) and validate them with jsonschema against
  env.tools[name]["parameters"];
* loop check: never run the same call (tool + identical arguments) twice in a task;
* approval: a tool with env.tools[name]["requires_approval"] runs only after
  env.request_approval(...) said yes, with that approval_id;
* quarantine the result: replace instruction-like lines in it before the model reads it.

Answer every refused or failed call with a tool message {"error": "..."} that says what
was wrong, so the model can correct itself. Stop at task["max_steps"] model calls, or
once the usage.total_tokens reported so far reach task["max_tokens"], and return None.

This file runs as it is (it trusts the model completely), so you can run the public
tests right away and watch them turn green one by one:

    python -m pytest public_tests -q

The task and env you get:

    task = {"id": "t01", "prompt": "...", "allowed_tools": ["get_order", ...],
            "max_steps": 8, "max_tokens": 12000}
    env.tools                      {name: {"description", "parameters" (JSON Schema),
                                           "requires_approval": bool}}: every tool on the server
    env.chat(messages, tools=None) the model's OpenAI chat-completion response (a dict)
    env.call_tool(name, arguments, approval_id=None)
                                   {"result": ...} or {"error": "..."}
    env.request_approval(name, arguments, reason)
                                   {"approval_id": "...", "approved": bool, "comment": "..."}
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM_PROMPT = (
    "You are the help-desk agent of Inkwell Books. Use the tools you are given to do the user's task, "
    "then reply with a short final answer."
)


def run_task(task: dict[str, Any], env: Any) -> str | None:
    """Run one task; return the model's final answer, or None when a budget runs out first."""
    # TODO least privilege: offer only the task's allowed tools.
    tools = [{"type": "function", "function": {"name": name, "description": spec["description"],
                                               "parameters": spec["parameters"]}}
             for name, spec in env.tools.items()]
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT},
                                      {"role": "user", "content": task["prompt"]}]
    while True:  # TODO a step budget and a token budget (usage.total_tokens)
        response = env.chat(messages, tools=tools)
        message = response["choices"][0]["message"]
        calls = message.get("tool_calls") or []
        if not calls:
            return message.get("content") or ""
        messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
        for call in calls:
            name = call["function"]["name"]
            # TODO refuse tools outside the allowlist; survive malformed JSON; validate against
            # the schema; refuse repeated calls; ask a human before a dangerous tool.
            args = json.loads(call["function"]["arguments"])
            reply = env.call_tool(name, args)
            # TODO quarantine instruction-like text in the result before the model reads it.
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(reply)})

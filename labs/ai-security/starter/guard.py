"""A guard layer for an LLM app: what may reach the model, what may reach the user, and
which tool calls the model may make.

Your job: implement the three functions below. Read brief.md for the full rules; the
short version:

* classify_input(text, source=..., history=...) -> Verdict: block prompt injection
  (direct, hidden in retrieved documents, encoded, role-play jailbreaks, and payloads
  split over several turns) without blocking ordinary users;
* filter_output(text) -> str: redact emails, API keys (sk-..., AKIA..., ghp_...) and
  card numbers (Luhn-valid), remove markdown images whose URL has a query string and
  base64-looking runs of 40+ characters; leave everything else exactly as it was;
* allow_tool_call(name, args) -> bool: only the four allow-listed tools, no URL
  outside https://api.skillforge.example, email only to @skillforge.example.

This file runs as it is (it lets everything through), so you can run the public tests
right away and watch them turn green one by one:

    python -m pytest public_tests -q

Only the Python standard library is available when your code is graded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """classify_input's answer. (Complete: you should not need to change it.)

    block:     True to stop this text from reaching the model.
    category:  a short label for your logs: "none", "injection", "jailbreak", ...
    reason:    why, in a few words (shown in logs, never to the attacker).
    """

    block: bool
    category: str = "none"
    reason: str = ""


ALLOWED_TOOLS = frozenset({"search_docs", "get_order_status", "http_get", "send_email"})
ALLOWED_HOST = "api.skillforge.example"
EMAIL_DOMAIN = "@skillforge.example"


def classify_input(text: str, *, source: str = "user", history: tuple[str, ...] = ()) -> Verdict:
    """Decide whether `text` may reach the model.

    source:   "user" for a chat message, "document" for a retrieved document.
    history:  the earlier user turns of the same conversation, oldest first.
    """
    # TODO: normalize the text (NFKC, invisible characters, look-alike letters), decode
    # hidden base64, look for instruction overrides, requests for secrets and jailbreak
    # personas, and check the turn together with its history.
    return Verdict(block=False, category="none", reason="not implemented")


def filter_output(text: str) -> str:
    """Return the model's answer as it may be shown to the user."""
    # TODO: redact secrets and PII, remove exfiltration channels.
    return text


def allow_tool_call(name: str, args: dict) -> bool:
    """May the model call tool `name` with arguments `args`?"""
    # TODO: least privilege. Allowing everything is Excessive Agency.
    return True

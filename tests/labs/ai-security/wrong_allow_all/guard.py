"""Plausible but wrong: the tool policy checks the tool name and nothing else.

Any allow-listed tool may be called with any arguments: http_get to any host, email
to anyone, URLs to attacker hosts inside a search query.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Verdict:
    block: bool
    category: str = "none"  # "none" | "injection" | "jailbreak"
    reason: str = ""


# -- input classification ---------------------------------------------------------------

# Latin look-alikes from Cyrillic and Greek (the common confusables); NFKC already folds
# fullwidth and other compatibility forms.
CONFUSABLES = str.maketrans({
    "\u0430": "a", "\u0435": "e", "\u043e": "o", "\u0440": "p", "\u0441": "c", "\u0443": "y", "\u0445": "x",
    "\u0456": "i", "\u0458": "j", "\u0455": "s", "\u0501": "d", "\u04bb": "h", "\u043a": "k", "\u043c": "m",
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u041a": "K", "\u041c": "M", "\u041d": "H", "\u041e": "O",
    "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0425": "X", "\u0406": "I", "\u0408": "J", "\u0405": "S",
    "\u03bf": "o", "\u03b1": "a", "\u03b5": "e", "\u03b9": "i", "\u03ba": "k", "\u03bd": "v", "\u03c1": "p",
    "\u03c4": "t", "\u03c5": "u", "\u039f": "O", "\u0391": "A", "\u0395": "E", "\u0399": "I", "\u039a": "K",
    "\u039d": "N", "\u03a1": "P", "\u03a4": "T",
})
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")

OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,30}?"
    r"\b(instructions?|rules|guidelines|directives|prompts?|above|safety)\b")
EXFIL = re.compile(
    r"\b(reveal|print|show|repeat|output|leak|tell me|give me|read me|share|display|reply with|"
    r"answer only with|include|forward)\b[^.\n]{0,40}?"
    r"\b(system prompt|instructions|secrets?|password|api keys?|keys?|tokens?|configuration|credentials)\b")
ROLEPLAY_OPENER = re.compile(
    r"\b(you are now|you are dan|pretend (to be|you are)|act as|role-?play|imagine you are|from now on you|"
    r"(story|scene|poem) (where|in which|about) (an? )?ai)\b")
ROLEPLAY_PAYLOAD = re.compile(
    r"\b(no rules|no restrictions|no guidelines|no limits|unfiltered|never refuses?|developer mode|jailbr\w*|"
    r"full clearance|evil|secrets?|system prompt|password|api keys?|confidential)\b")
ECHO_PROMPT = re.compile(r"\b(repeat|print|output|copy)\b[^.\n]{0,20}?\b(text|words|everything|all) (above|before this)")
JAILBREAK = re.compile(r"\b(developer mode|jailbreak\w*|dan mode|do anything now|without (any )?restrictions)\b")
ADDRESSES_AI = re.compile(r"\b(ai|assistant|llm|language model|chatbot)\b[^.\n]{0,30}?(:|\bmust\b|\bshould\b|reading)")


def normalize(text: str) -> str:
    """Fold the tricks: compatibility forms, invisible format characters, homoglyphs, case."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = text.translate(CONFUSABLES)
    return " ".join(text.lower().split())


def decoded_views(text: str) -> list[str]:
    """Base64 payloads hidden in the text, decoded where they are readable text."""
    views = []
    for run in BASE64_RUN.findall(unicodedata.normalize("NFKC", text)):
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if decoded and sum(ch.isprintable() or ch.isspace() for ch in decoded) / len(decoded) > 0.9:
            views.append(normalize(decoded))
    return views


def _matches(text: str, source: str) -> tuple[str, str] | None:
    for view in [normalize(text), *decoded_views(text)]:
        if OVERRIDE.search(view):
            return "injection", "tries to override the app's instructions"
        if JAILBREAK.search(view) or (ROLEPLAY_OPENER.search(view) and ROLEPLAY_PAYLOAD.search(view)):
            return "jailbreak", "role-play or persona switch aimed at the rules or secrets"
        if EXFIL.search(view) or ECHO_PROMPT.search(view):
            return "injection", "asks for the system prompt, secrets or credentials"
        if source == "document" and ADDRESSES_AI.search(view):
            return "injection", "a document that gives orders to the AI"
    return None


def classify_input(text: str, *, source: str = "user", history: tuple[str, ...] = ()) -> Verdict:
    """Block prompt injection and jailbreaks before they reach the model."""
    found = _matches(text, source)
    if found is None and history:  # payloads split over several turns
        found = _matches(" ".join([*history, text]), source)
    if found is None:
        return Verdict(False, "none", "")
    return Verdict(True, *found)


# -- output filtering -------------------------------------------------------------------

MD_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)")
KEYS = re.compile(r"\bsk-[A-Za-z0-9_-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}\b")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
BLOB = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _image(m: re.Match[str]) -> str:
    return "[image removed]" if "?" in m.group(1) else m.group(0)


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[REDACTED_CARD]" if luhn_ok(digits) else m.group(0)


def filter_output(text: str) -> str:
    """Redact secrets and PII, and remove exfiltration channels, from the model's answer."""
    text = MD_IMAGE.sub(_image, text)
    text = KEYS.sub("[REDACTED_KEY]", text)
    text = EMAIL.sub("[REDACTED_EMAIL]", text)
    text = CARD.sub(_card, text)
    return BLOB.sub("[data removed]", text)


# -- tool-call policy ---------------------------------------------------------------------

ALLOWED_TOOLS = frozenset({"search_docs", "get_order_status", "http_get", "send_email"})
ALLOWED_HOST = "api.skillforge.example"
EMAIL_DOMAIN = "@skillforge.example"
URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>)]+", re.I)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _host_ok(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() == "https" and parts.hostname == ALLOWED_HOST
    except ValueError:
        return False


def allow_tool_call(name: str, args: dict) -> bool:
    """Least privilege: allow-listed tools only, and no URL outside the allowed host."""
    return name.lower() in ALLOWED_TOOLS  # BUG: arguments never checked

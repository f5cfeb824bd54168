"""The known load the driver sends to the learner's service, and the mock model behind it.

Everything here is deterministic (seeded): the same prompts, in the same phases, every
run. Per-request values that must not end up in labels (request ids, users) are random
per run and made by the driver. Standard library only.

Phases (the driver waits for each to finish before the next):

  reference   50 valid prompts of everyday length, all answered
  errors      6 invalid bodies (400), then 46 valid prompts with the same length mix as
              the reference: 8 of them fail at the model (500/503, so the service
              answers 502), the rest are answered
  slow        4 more valid prompts (completing the 50 of the phase) streamed slowly: the
              model waits SLOW_CHUNK_DELAY seconds before each piece while the driver
              scrapes /metrics with all four open
  shifted     50 valid prompts ten times longer (pasted documents): the drift score
              must cross its threshold
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

WINDOW = 50  # the drift windows the brief specifies
SLOW_STREAMS = 4
SLOW_CHUNK_DELAY = 1.25  # seconds: > 1 s (the TTFT objective) before the first token
FAILING = 8  # prompts of the errors phase the model fails
FAIL_STATUSES = (500, 503)  # alternating; the service answers 502 for both

# Lengths in words: the everyday mix (short questions, a few longer ones) and a shifted
# mix of pasted documents. The errors+slow phase reuses the reference's lengths exactly,
# so any length-based drift score is 0 before the shift.
REFERENCE_LENGTHS = [4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 10, 11, 11, 12, 12, 12, 13, 13, 14, 14, 15, 15, 16,
                     16, 17, 18, 18, 19, 20, 21, 22, 23, 24, 25, 26, 28, 30, 32, 34, 36, 38, 40, 45, 50, 55, 60, 70, 90]
SHIFTED_LENGTHS = [150 + 5 * i for i in range(WINDOW)]  # 150 .. 395 words

VOCAB = ("account", "billing", "invoice", "refund", "password", "reset", "login", "order", "shipping", "delivery",
         "address", "update", "cancel", "subscription", "plan", "upgrade", "error", "message", "screen", "app",
         "phone", "email", "support", "ticket", "status", "payment", "card", "declined", "charge", "twice",
         "discount", "code", "coupon", "expired", "product", "size", "colour", "return", "label", "warehouse",
         "tracking", "number", "week", "yesterday", "today", "please", "help", "how", "why", "when", "where",
         "can", "could", "would", "should", "my", "the", "a", "an", "to", "for", "with", "on", "in", "of",
         "and", "but", "not", "is", "was", "does", "did", "I", "we", "you", "it", "this", "that", "again")
DOC_VOCAB = ("section", "clause", "agreement", "party", "shall", "herein", "pursuant", "liability", "warranty",
             "termination", "notice", "obligation", "confidential", "information", "limited", "damages",
             "provided", "except", "including", "without", "limitation", "reasonable", "written", "consent",
             "effective", "date", "term", "renewal", "fees", "schedule", "exhibit", "governing", "law")

INVALID_BODIES: list[bytes] = [
    b"prompt=hello",  # not JSON
    json.dumps(["a list", "not an object"]).encode(),
    json.dumps({"max_tokens": 64}).encode(),  # no prompt
    json.dumps({"prompt": "   "}).encode(),  # blank prompt
    json.dumps({"prompt": "How do I reset my password?", "max_tokens": 0}).encode(),
    json.dumps({"prompt": "How do I reset my password?", "max_tokens": "ten"}).encode(),
]


def make_prompt(rng: random.Random, words: int, vocab: tuple[str, ...]) -> str:
    text = " ".join(rng.choice(vocab) for _ in range(words))
    return text[0].upper() + text[1:] + "?"


@dataclass(frozen=True)
class Workload:
    reference: list[str]
    errors: list[str]  # valid prompts of the errors phase (FAILING of them fail at the model)
    slow: list[str]
    shifted: list[str]
    fail_status: dict[str, int]  # prompt -> status the model answers it with

    @property
    def expected_statuses(self) -> dict[str, int]:
        ok = len(self.reference) + len(self.errors) - len(self.fail_status) + len(self.slow) + len(self.shifted)
        return {"200": ok, "400": len(INVALID_BODIES), "502": len(self.fail_status)}

    @property
    def requests(self) -> int:
        return sum(self.expected_statuses.values())

    @property
    def streams(self) -> int:
        """Requests answered with a stream of text (each has a first token)."""
        return self.expected_statuses["200"]


def build() -> Workload:
    rng = random.Random(20250611)
    reference = [make_prompt(rng, n, VOCAB) for n in REFERENCE_LENGTHS]
    same_mix = REFERENCE_LENGTHS[:]
    rng.shuffle(same_mix)
    second = [make_prompt(rng, n, VOCAB) for n in same_mix]
    errors, slow = second[:-SLOW_STREAMS], second[-SLOW_STREAMS:]
    # Spread the failing prompts through the phase (every fifth one).
    failing = errors[::5][:FAILING]
    fail_status = {p: FAIL_STATUSES[i % 2] for i, p in enumerate(failing)}
    shifted = [f"Summarise this contract: {make_prompt(rng, n - 3, DOC_VOCAB)}" for n in SHIFTED_LENGTHS]
    assert len(set(reference + second + shifted)) == 3 * WINDOW, "prompts must be unique"
    return Workload(reference, errors, slow, shifted, fail_status)


ANSWER_WORDS = ("Sure", "here", "is", "what", "you", "can", "do", "first", "open", "the", "settings", "page",
                "then", "choose", "your", "account", "and", "follow", "steps", "shown", "if", "that", "does",
                "not", "work", "contact", "support", "with", "order", "number")


def answer_text(key: str) -> str:
    """The mock model's answer: 12 to 40 words, a pure function of the request key."""
    h = hashlib.sha256(key.encode()).digest()
    words = 12 + h[0] % 29
    return " ".join(ANSWER_WORDS[h[1 + i % 31] % len(ANSWER_WORDS)] for i in range(words)) + "."

"""An evaluation harness: run an eval set through an OpenAI-compatible chat API and score it.

Your job (read brief.md for the full rules):

* evaluate(): exact match (normalized) and the LLM-as-judge's rubric score over the cases
  with an "expected" answer; safety over the cases with "must_not_contain";
* post_json(): never pay for the same request twice (a cache on disk, shared by every
  process given the same cache_dir), and retry 429 / 5xx / connection errors, waiting
  what the server asks for (Retry-After) or backing off exponentially.

What is here already works, naively: one attempt per request, no cache. The first 429
the grader's mock LLM sends will make it fail.

Standard library only. Run the public tests with:  python -m pytest public_tests -q
"""

from __future__ import annotations

import hashlib  # noqa: F401  (you will need it for cache_key)
import json
import os
import tempfile  # noqa: F401  (write cache entries atomically)
import time  # noqa: F401  (time.sleep before a retry)
import urllib.error
import urllib.request
from pathlib import Path  # noqa: F401

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LLMError(RuntimeError):
    """A request failed for good (a 4xx, or retries exhausted)."""


def normalize(text: str) -> str:
    """For exact match.

    TODO: strip the ends, collapse every run of whitespace to one space, casefold.
          "  The Pro\\nplan " and "the pro plan" must normalize to the same string.
    """
    return text


def load_cases(path: str) -> list[dict]:
    """An eval set in JSON lines: one case (a JSON object) per non-empty line. (Complete.)"""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cache_key(url: str, body: dict) -> str:
    """TODO: a SHA-256 hex digest of the URL and the body, serialized canonically
    (json.dumps with sort_keys=True), so the same request always gets the same key."""
    raise NotImplementedError("cache_key")


def retry_delay(headers, attempt: int, backoff: float) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry, 2, ...).

    TODO: if the response says how long (the "retry-after-ms" header in milliseconds,
          else "Retry-After" in seconds, which may be fractional like "0.5"), that long;
          otherwise exponential backoff: backoff * 2 ** (attempt - 1).
          `headers` is the HTTPError's .headers (or None for a connection error).
    """
    return 0.0


def post_json(url: str, body: dict, *, cache_dir: str | None = None, max_retries: int = 4, backoff: float = 0.2,
              timeout: float = 30.0) -> dict:
    """POST `body` as JSON to `url` and return the JSON answer.

    TODO:
    - look in the cache (a file per cache_key(url, body) under cache_dir) first; store
      every successful answer there (create the folder; write atomically); never an error;
    - on HTTP 429, 500, 502, 503, 504 or a connection error, sleep retry_delay(...) and
      send the same request again, up to max_retries retries; any other error (or the
      last retry failing) raises LLMError.
    """
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise LLMError(f"POST {url}: HTTP {exc.code}: {exc.read()[:300]!r}") from None


def chat(prompt: str, user_input: str, *, base_url: str, model: str, cache_dir: str | None = None,
         max_retries: int = 4, backoff: float = 0.2) -> str:
    """The model's answer to one case: the prompt as the system message (exactly as
    registered), the case's input as the user message. (Complete.)"""
    body = {"model": model, "temperature": 0,
            "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": user_input}]}
    doc = post_json(base_url.rstrip("/") + "/chat/completions", body, cache_dir=cache_dir,
                    max_retries=max_retries, backoff=backoff)
    return doc["choices"][0]["message"]["content"] or ""


def judge(question: str, answer: str, reference: str, *, base_url: str, cache_dir: str | None = None,
          max_retries: int = 4, backoff: float = 0.2) -> float:
    """The LLM-as-judge's score (0..1) of an answer against the reference. (Complete.)"""
    body = {"question": question, "answer": answer, "reference": reference}
    doc = post_json(base_url.rstrip("/") + "/judge", body, cache_dir=cache_dir, max_retries=max_retries,
                    backoff=backoff)
    return float(doc["score"])


def evaluate(prompt: str, cases: list[dict], *, base_url: str, model: str = "mock-gpt", cache_dir: str | None = None,
             max_retries: int = 4, backoff: float = 0.2) -> dict:
    """Run every case through the model with `prompt` as the system prompt and score it.

    TODO: return at least
      {"exact_match": share of the cases with "expected" whose normalized answer equals
                      the normalized expected answer (0.0 when there are none),
       "rubric":      mean judge() score over those same cases (0.0 when none),
       "safety_failures": ids of the cases with "must_not_contain" whose answer contains
                      any of those strings, ignoring case, in the order of `cases`}
    Unrounded means, please: the grader rounds to 4 places itself. Pass cache_dir,
    max_retries and backoff on to every request.
    """
    raise NotImplementedError("evaluate")

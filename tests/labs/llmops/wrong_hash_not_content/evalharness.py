"""An evaluation harness: run an eval set through an OpenAI-compatible chat API and score it.

- exact match (normalized) and a rubric score from the LLM-as-judge endpoint, over the
  cases that have an "expected" answer;
- safety: a case with "must_not_contain" fails when the answer contains any of those
  strings (ignoring case);
- every request goes through post_json: a disk cache (the same request is never paid
  twice, across processes too) and retries on 429 / 5xx / connection errors, waiting
  Retry-After when the server says how long, else exponential backoff.

Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class LLMError(RuntimeError):
    """A request failed for good (a 4xx, or retries exhausted)."""


def normalize(text: str) -> str:
    """For exact match: surrounding whitespace stripped, inner runs collapsed, case folded."""
    return " ".join(text.split()).casefold()


def load_cases(path: str) -> list[dict]:
    """An eval set in JSON lines: one case (a JSON object) per non-empty line."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cache_key(url: str, body: dict) -> str:
    canonical = json.dumps({"url": url, "body": body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _cache_read(cache_dir: str | None, key: str) -> dict | None:
    if not cache_dir:
        return None
    try:
        return json.loads((Path(cache_dir) / f"{key}.json").read_bytes())
    except (FileNotFoundError, ValueError):
        return None


def _cache_write(cache_dir: str | None, key: str, doc: dict) -> None:
    if not cache_dir:
        return
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(json.dumps(doc).encode("utf-8"))
    os.replace(tmp, folder / f"{key}.json")  # atomic: a reader never sees half an entry


def retry_delay(headers, attempt: int, backoff: float) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): what the server asked
    for (retry-after-ms, else Retry-After in seconds), else backoff * 2 ** (attempt - 1)."""
    if headers is not None:
        for name, scale in (("retry-after-ms", 0.001), ("Retry-After", 1.0)):
            value = headers.get(name)
            if value:
                try:
                    return max(0.0, float(value) * scale)
                except ValueError:
                    pass  # an HTTP date: fall back to backoff
    return backoff * 2 ** (attempt - 1)


def post_json(url: str, body: dict, *, cache_dir: str | None = None, max_retries: int = 4, backoff: float = 0.2,
              timeout: float = 30.0) -> dict:
    """POST body as JSON and return the JSON answer, from the cache when it is there."""
    if not url.startswith(("http://", "https://")):  # urlopen would also read file: URLs
        raise ValueError(f"not an HTTP URL: {url!r}")
    key = cache_key(url, body)
    cached = _cache_read(cache_dir, key)
    if cached is not None:
        return cached
    data = json.dumps(body).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['OPENAI_API_KEY']}"
    for attempt in range(max_retries + 1):
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 (http(s) only)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
                doc = json.loads(resp.read())
            _cache_write(cache_dir, key, doc)
            return doc
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace")
            if exc.code not in RETRY_STATUSES or attempt == max_retries:
                raise LLMError(f"POST {url}: HTTP {exc.code}: {detail}") from None
            wait = retry_delay(exc.headers, attempt + 1, backoff)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            if attempt == max_retries:
                raise LLMError(f"POST {url}: {exc}") from None
            wait = retry_delay(None, attempt + 1, backoff)
        time.sleep(wait)
    raise AssertionError("unreachable")


def chat(prompt: str, user_input: str, *, base_url: str, model: str, cache_dir: str | None = None,
         max_retries: int = 4, backoff: float = 0.2) -> str:
    """The model's answer to one case: the prompt as the system message, the input as the user's."""
    body = {"model": model, "temperature": 0,
            "messages": [{"role": "system", "content": prompt}, {"role": "user", "content": user_input}]}
    doc = post_json(base_url.rstrip("/") + "/chat/completions", body, cache_dir=cache_dir,
                    max_retries=max_retries, backoff=backoff)
    return doc["choices"][0]["message"]["content"] or ""


def judge(question: str, answer: str, reference: str, *, base_url: str, cache_dir: str | None = None,
          max_retries: int = 4, backoff: float = 0.2) -> float:
    """The LLM-as-judge's score (0..1) of an answer against the reference."""
    body = {"question": question, "answer": answer, "reference": reference}
    doc = post_json(base_url.rstrip("/") + "/judge", body, cache_dir=cache_dir, max_retries=max_retries,
                    backoff=backoff)
    return float(doc["score"])


def evaluate(prompt: str, cases: list[dict], *, base_url: str, model: str = "mock-gpt", cache_dir: str | None = None,
             max_retries: int = 4, backoff: float = 0.2) -> dict:
    """Run every case through the model with `prompt` as the system prompt and score it."""
    opts = {"cache_dir": cache_dir, "max_retries": max_retries, "backoff": backoff}
    results, exact, rubric, failures = [], [], [], []
    for case in cases:
        answer = chat(prompt, case["input"], base_url=base_url, model=model, **opts)
        result = {"id": case.get("id"), "answer": answer}
        if "expected" in case:
            result["exact"] = normalize(answer) == normalize(case["expected"])
            result["rubric"] = judge(case["input"], answer, case["expected"], base_url=base_url, **opts)
            exact.append(result["exact"])
            rubric.append(result["rubric"])
        if "must_not_contain" in case:
            lowered = answer.casefold()
            result["safe"] = not any(s.casefold() in lowered for s in case["must_not_contain"])
            if not result["safe"]:
                failures.append(case.get("id"))
        results.append(result)
    return {
        "exact_match": sum(exact) / len(exact) if exact else 0.0,
        "rubric": sum(rubric) / len(rubric) if rubric else 0.0,
        "safety_failures": failures,
        "n": len(cases),
        "cases": results,
    }

"""Public tests for evalharness.py, against the small mock LLM in conftest.py.

    python -m pytest public_tests -q
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import evalharness
import pytest
from mock_llm import PROMPTS, cases, true_scores

FAST = {"max_retries": 4, "backoff": 0.05}


def evaluate(llm, prompt, cache_dir, **kw):
    return evalharness.evaluate(prompt, cases(), base_url=llm.base_url, model="mock-gpt", cache_dir=str(cache_dir),
                                **{**FAST, **kw})


def test_normalize():
    assert evalharness.normalize("  The Pro\n plan ") == evalharness.normalize("the pro plan") == "the pro plan"


@pytest.mark.parametrize("name", ["weak", "good", "best"])
def test_exact_match_and_rubric(llm, tmp_path, name):
    prompt = PROMPTS[name][0]
    got = evaluate(llm, prompt, tmp_path)
    want = true_scores(prompt)
    assert got["exact_match"] == pytest.approx(want["exact_match"], abs=1e-9)
    assert got["rubric"] == pytest.approx(want["rubric"], abs=1e-9)


def test_safety_failures_ignore_case(llm, tmp_path):
    assert evaluate(llm, PROMPTS["good"][0], tmp_path)["safety_failures"] == []
    # the unsafe prompt leaks "save-9000"; the case says must_not_contain "SAVE-9000"
    assert list(evaluate(llm, PROMPTS["unsafe"][0], tmp_path)["safety_failures"]) == ["u1"]


def test_the_same_request_is_never_paid_twice(llm, tmp_path):
    cache = tmp_path / "cache"
    first = evaluate(llm, PROMPTS["good"][0], cache)
    assert llm.paid_twice() == 0
    paid = len(llm.calls)
    assert evaluate(llm, PROMPTS["good"][0], cache) == first
    assert len(llm.calls) == paid, "evaluating the same prompt again must be answered from the cache"
    # another version: its right answers were judged already, only the new ones cost
    evaluate(llm, PROMPTS["best"][0], cache)
    assert llm.paid_twice() == 0, "a judge request another version already made must come from the cache"
    # another process (the gate in CI) with the same cache folder pays nothing either
    code = ("import json, sys, evalharness; print(json.dumps(evalharness.evaluate(sys.argv[1], json.loads(sys.argv[2]), "
            "base_url=sys.argv[3], cache_dir=sys.argv[4])['exact_match']))")
    before = len(llm.calls)
    out = subprocess.run([sys.executable, "-c", code, PROMPTS["good"][0], json.dumps(cases()), llm.base_url, str(cache)],
                         cwd=Path(evalharness.__file__).parent, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(llm.calls) == before, "the cache must live on disk, under cache_dir, shared by every process"


def test_errors_are_not_cached(llm, tmp_path):
    llm.script = [(500, None)]
    answer = evalharness.chat(PROMPTS["best"][0], cases()[0]["input"], base_url=llm.base_url, model="mock-gpt",
                              cache_dir=str(tmp_path), **FAST)
    assert answer == "Canberra"
    assert [c.status for c in llm.calls] == [500, 200]


def test_a_429_is_retried_after_retry_after(llm, tmp_path):
    llm.script = [(429, 0.3)]
    evalharness.chat(PROMPTS["good"][0], cases()[0]["input"], base_url=llm.base_url, model="mock-gpt",
                     cache_dir=str(tmp_path), **FAST)
    assert [c.status for c in llm.calls] == [429, 200]
    assert llm.gaps()[0] >= 0.27, f"retried {llm.gaps()[0]:.2f} s after a 429 that said Retry-After: 0.3"


def test_backoff_grows_after_server_errors(llm, tmp_path):
    llm.script = [(500, None), (500, None), (503, None)]
    evalharness.judge("q?", "an answer", "the answer", base_url=llm.base_url, cache_dir=str(tmp_path),
                      max_retries=4, backoff=0.1)
    assert [c.status for c in llm.calls] == [500, 500, 503, 200]
    gaps = llm.gaps()
    assert gaps[0] >= 0.09 and gaps[1] >= 0.18 and gaps[2] >= 0.36, f"gaps between retries: {gaps} (backoff 0.1)"


def test_a_client_error_is_not_retried(llm, tmp_path):
    llm.script = [(400, None)]
    with pytest.raises(Exception):  # noqa: B017 (any exception: your LLMError, say)
        evalharness.chat(PROMPTS["good"][0], "hello", base_url=llm.base_url, model="mock-gpt",
                         cache_dir=str(tmp_path), **FAST)
    assert [c.status for c in llm.calls] == [400]

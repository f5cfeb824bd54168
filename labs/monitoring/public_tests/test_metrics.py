"""Public tests for your service's metrics: run them as often as you like.

    python -m pytest public_tests -q

They start your service.py in front of a fake model (see conftest.py), send a small
known load, and read /metrics with prometheus_client's parser, as the grader does. The
grader sends its own, larger load (and its model is not this one), so passing these is
a very good sign, not a guarantee.
"""

from __future__ import annotations

import math
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from conftest import SLOW_FIRST_TOKEN, Scrape, Service, run_all

SENT = {"200": 14, "400": 3, "502": 2}  # what the traffic below gets back
INVALID = [b"not json", b'{"prompt": ""}', b'{"prompt": "hi", "max_tokens": -1}']


@dataclass
class Traffic:
    during: Scrape  # with the two slow streams open
    after: Scrape  # once everything was answered
    answered: dict[str, int]
    per_request: set[str]  # request ids and users the test sent
    usage: dict[str, int]  # tokens the fake model reported


@pytest.fixture(scope="module")
def traffic(model, service) -> Traffic:
    per_request: set[str] = set()

    def send(prompt: str, on_first_token=None):
        rid, user = "req-" + secrets.token_hex(6), "user-" + secrets.token_hex(4)
        per_request.update((rid, user))
        return lambda: service.generate(prompt, rid, user, on_first_token)

    calls = [send(f"How do I change my plan, question {i}?") for i in range(12)]
    calls += [send("[fail] what is my balance?"), send("[fail] cancel my order")]
    calls += [lambda body=body: service.request("POST", "/v1/generate", body)[0] for body in INVALID]
    statuses = run_all(calls)

    firsts = [threading.Event(), threading.Event()]
    with ThreadPoolExecutor(2) as pool:
        slow = [pool.submit(send(f"[slow] summarise my last {i + 2} invoices", ev.set)) for i, ev in enumerate(firsts)]
        for ev in firsts:
            assert ev.wait(20), "a slow stream sent no token: does the service stream tokens as they arrive?"
        during = service.metrics()
        model.release()
        statuses += [f.result(30) for f in slow]
    answered: dict[str, int] = {}
    for status in statuses:
        answered[str(status)] = answered.get(str(status), 0) + 1
    assert answered == SENT, "the service itself should answer like this; did an edit break it?"
    usage = {"prompt": model.usage["prompt_tokens"], "completion": model.usage["completion_tokens"]}
    return Traffic(during, service.metrics(), answered, per_request, usage)


def test_requests_counted_by_status(traffic):
    counted = traffic.after.by("llm_requests_total", "status")
    assert counted == SENT, (
        f"llm_requests_total by status is {counted}, the service answered {SENT}: count every request to "
        "/v1/generate once, errors included, labelled with its HTTP status"
    )


def test_request_latency_histogram(traffic):
    m = traffic.after
    assert m.types.get("llm_request_duration_seconds") == "histogram", "llm_request_duration_seconds must be a Histogram"
    count = m.value("llm_request_duration_seconds_count")
    assert count == sum(SENT.values()), f"{count} requests timed, {sum(SENT.values())} sent: time errors too"
    buckets = m.buckets("llm_request_duration_seconds")
    bound = max(b for b in buckets if b <= 1.0)
    slow = count - buckets[bound]
    assert slow >= 2, (f"only {slow:g} requests took longer than {bound:g} s, but the two slow streams took over "
                       f"{SLOW_FIRST_TOKEN} s: time the whole stream, in seconds")


def test_buckets_fit(traffic):
    duration = [b for b in traffic.after.buckets("llm_request_duration_seconds") if math.isfinite(b)]
    assert duration, "llm_request_duration_seconds has no buckets"
    assert duration[0] <= 0.1 and duration[-1] >= 60 and len(duration) >= 8, (
        f"duration buckets {duration}: need at least 8, from 0.1 s or less up to 60 s or more (streams are long)"
    )
    ttft = [b for b in traffic.after.buckets("llm_time_to_first_token_seconds") if math.isfinite(b)]
    assert ttft, "llm_time_to_first_token_seconds has no buckets"
    assert 1.0 in ttft and sum(b < 1 for b in ttft) >= 3 and ttft[-1] >= 10, (
        f"TTFT buckets {ttft}: need a boundary at exactly 1 s (the objective), 3 below it, and one at 10 s or more"
    )


def test_time_to_first_token(traffic):
    m = traffic.after
    assert m.types.get("llm_time_to_first_token_seconds") == "histogram", \
        "llm_time_to_first_token_seconds must be a Histogram"
    count = m.value("llm_time_to_first_token_seconds_count")
    assert count == SENT["200"], f"{count} first tokens observed, {SENT['200']} streams answered (errors have none)"
    late = count - m.buckets("llm_time_to_first_token_seconds")[1.0]
    assert late >= 2, (f"{late:g} first tokens above 1 s, but the two slow streams sent their first text after "
                       f"{SLOW_FIRST_TOKEN} s: the role-only first chunk is not a token")


def test_tokens_counted(traffic):
    counted = traffic.after.by("llm_tokens_total", "type")
    assert counted == traffic.usage, f"llm_tokens_total by type is {counted}; the model reported {traffic.usage}"


def test_in_flight_gauge(traffic):
    during = traffic.during.value("llm_requests_in_flight")
    assert during == 2, f"llm_requests_in_flight read {during} with exactly two streams open"
    after = traffic.after.value("llm_requests_in_flight")
    assert after == 0, f"llm_requests_in_flight read {after} with nothing running: decrement on errors too"


def test_labels_are_bounded(traffic):
    for name, samples in traffic.after.samples.items():
        for labels, _ in samples:
            leaked = set(labels.values()) & traffic.per_request
            assert not leaked, f"{name} has a per-request label value ({sorted(leaked)[0]}): one series per request"
    for name in ("llm_requests_total", "llm_tokens_total"):
        series = {tuple(sorted(lab.items())) for lab, _ in traffic.after.samples.get(name, [])}
        assert len(series) <= 5, f"{name} has {len(series)} series for this small load"


def prompts(words: list[int], tag: str) -> list[str]:
    return [" ".join(f"{tag}{i}w{j}" for j in range(n)) for i, n in enumerate(words)]


def test_drift_score(model):
    service = Service(model)  # a fresh service: its windows start empty
    try:
        lengths = [5 + (i * 7) % 40 for i in range(50)]

        def send_all(texts):
            run_all([lambda t=t: service.generate(t, "req-drift", "user-drift") for t in texts])
            return service.metrics().value("llm_input_drift_score")

        first = send_all(prompts(lengths, "a"))
        same = send_all(prompts(lengths[::-1], "b"))  # other prompts, the same length mix
        shifted = send_all(prompts([200 + i for i in range(50)], "c"))
    finally:
        service.stop()
    assert first is not None, "llm_input_drift_score is not exposed"
    assert same is not None and same < 0.2, f"drift score {same} after 50 prompts like the reference: should be ~0"
    assert shifted is not None and shifted > 0.2, f"drift score {shifted} after 50 much longer prompts: must exceed 0.2"

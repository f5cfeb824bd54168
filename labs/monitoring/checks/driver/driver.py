"""Trusted driver for the monitoring lab. Runs inside the sandbox as the driver user.

It serves the mock LLM (mockllm.MockLLM) on 127.0.0.1, starts the learner's service
(`python3 service.py`, as the learner's user) in front of it, and sends a known load
(workload.py): valid prompts, invalid bodies, prompts the model fails, slow streams
and, last, prompts of a shifted length distribution. It scrapes the service's /metrics
three times (with the slow streams open, after the errors, at the end), parses each page
with prometheus_client's parser, and records, from its own side only:

  statuses_miscounted      statuses whose llm_requests_total differs from what the
                           service answered the driver
  duration_observations    llm_request_duration_seconds_count (every request)
  bucket_problems          buckets that do not fit (see exposition.bucket_problems)
  slow_streams_timed_whole slow streams (which last > 2.5 s) seen above a bucket <= 2.5 s
  ttft_observations        llm_time_to_first_token_seconds_count (streams with text)
  slow_first_tokens_over_slo  slow streams (first token after > 1.25 s) seen above 1 s
  histogram_problems       histograms Prometheus could not use (type, cumulative
                           buckets, +Inf = _count, _sum in seconds)
  token_types_miscounted   llm_tokens_total{type} differing from the model's usage
  in_flight_during_streams llm_requests_in_flight while the four slow streams are open
  in_flight_at_rest        llm_requests_in_flight once every request is answered
  max_label_values         the most values one label takes (per-request ids explode it)
  drift_quiet              llm_input_drift_score below 0.2 on same-distribution traffic
  drift_detected           llm_input_drift_score above 0.2 after the shift

Every observation is a count or a boolean (lower bounds on timings only, which load
cannot break), so the same submission gets byte-identical reports; timings go to the
learner's log.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import exposition as ex  # noqa: E402
import sfharness as h  # noqa: E402
import workload  # noqa: E402
from mockllm import Faults, MockLLM, Request  # noqa: E402

LEARNER_TIMEOUT = 40.0  # seconds for the service's whole life (a correct run needs ~6)
READY_TIMEOUT = 15.0  # seconds for the service to answer /health
FIRST_TOKENS_TIMEOUT = 8.0  # seconds to wait for the slow streams' first tokens
LOAD_TIMEOUT = 25.0  # seconds for the whole load once the service is up
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
SCRAPE_TIMEOUT = aiohttp.ClientTimeout(total=5)
MAX_PAGE = 4 * 2**20  # bytes of /metrics read (a real page is a few KiB)
CONCURRENCY = 8
SLOW_DURATION_BOUND = 2.5  # a slow stream lasts at least 2 x SLOW_CHUNK_DELAY
SLOW_TTFT_BOUND = 1.2  # a slow stream's first token comes after SLOW_CHUNK_DELAY (1.25 s)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def signal_learner(sig: int) -> None:
    """Send sig to every process of the learner's user (the driver holds CAP_KILL)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                uid = next(line.split()[1] for line in fh if line.startswith("Uid:"))
            if int(uid) == h.LEARNER_UID:
                os.kill(int(entry), sig)
        except (OSError, StopIteration, ValueError):
            continue


@dataclass
class Client:
    """The driver's side of the conversation with the learner's service."""

    base: str
    session: aiohttp.ClientSession
    limit: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(CONCURRENCY))
    answered: dict[str, int] = field(default_factory=dict)  # status (or "no answer") -> count
    streams_with_text: int = 0

    async def generate(self, body: bytes, first_token: asyncio.Event | None = None) -> None:
        headers = {"Content-Type": "application/json", "X-Request-ID": "req-" + secrets.token_hex(8)}
        async with self.limit:
            status = "no answer"
            try:
                async with self.session.post(self.base + "/v1/generate", data=body, headers=headers,
                                             timeout=REQUEST_TIMEOUT) as resp:
                    status = str(resp.status)
                    text = False
                    async for raw in resp.content:
                        if raw.startswith(b"data:") and b'"token"' in raw and not text:
                            text = True
                            if first_token is not None:
                                first_token.set()
                    self.streams_with_text += text and resp.status == 200
            except (aiohttp.ClientError, TimeoutError, ValueError):
                pass  # no answer, or a stream broken off after its status (which stands)
            self.answered[status] = self.answered.get(status, 0) + 1

    async def prompt(self, prompt: str, first_token: asyncio.Event | None = None) -> None:
        user = "user-" + secrets.token_hex(6)
        body = json.dumps({"prompt": prompt, "max_tokens": 256, "user": user}).encode()
        await self.generate(body, first_token)

    async def scrape(self, notes: list[str], when: str) -> ex.Page | None:
        try:
            async with self.session.get(self.base + "/metrics", timeout=SCRAPE_TIMEOUT) as resp:
                if resp.status != 200:
                    notes.append(f"/metrics {when} answered HTTP {resp.status}")
                    return None
                body = b""
                while len(body) <= MAX_PAGE and (chunk := await resp.content.read(65536)):
                    body += chunk
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            notes.append(f"/metrics {when} could not be read: {type(exc).__name__}")
            return None
        if len(body) > MAX_PAGE:
            notes.append(f"/metrics {when} is larger than {MAX_PAGE // 2**20} MiB")
            return None
        text = body.decode("utf-8", "replace")
        try:
            return ex.parse(text)
        except Exception as exc:  # the parser raises several kinds on a malformed page
            notes.append(f"/metrics {when} is not valid Prometheus text: {str(exc)[:200]}")
            return None


@dataclass
class Scrapes:
    during: ex.Page | None = None  # the slow streams open
    quiet: ex.Page | None = None  # after the errors and slow phase: same distribution as the reference
    final: ex.Page | None = None
    elapsed: float = 0.0  # seconds from starting the service to the final scrape


async def wait_ready(client: Client, service: asyncio.Task[Any]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not service.done():
        try:
            async with client.session.get(client.base + "/health", timeout=aiohttp.ClientTimeout(total=5)) as resp:
                await resp.read()
                if resp.status == 200:
                    return True
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(0.1)
    return False


async def send_load(client: Client, llm: MockLLM, wl: workload.Workload, scrapes: Scrapes, notes: list[str]) -> None:
    await asyncio.gather(*(client.prompt(p) for p in wl.reference))
    await asyncio.gather(*(client.generate(b) for b in workload.INVALID_BODIES),
                         *(client.prompt(p) for p in wl.errors))

    llm.faults.chunk_delay = workload.SLOW_CHUNK_DELAY
    firsts = [asyncio.Event() for _ in wl.slow]
    started = time.monotonic()
    slow = [asyncio.create_task(client.prompt(p, ev)) for p, ev in zip(wl.slow, firsts, strict=True)]
    try:
        await asyncio.wait_for(asyncio.gather(*(ev.wait() for ev in firsts)), FIRST_TOKENS_TIMEOUT)
        notes.append(f"slow streams: every first token reached the driver after {time.monotonic() - started:.2f} s")
    except TimeoutError:
        got = sum(ev.is_set() for ev in firsts)
        notes.append(f"slow streams: only {got} of {len(firsts)} sent a first token within {FIRST_TOKENS_TIMEOUT:g} s "
                     f"(does the service stream tokens as they come?)")
    scrapes.during = await client.scrape(notes, "with the slow streams open")
    llm.faults.chunk_delay = 0.0
    await asyncio.gather(*slow)
    scrapes.quiet = await client.scrape(notes, "after the errors and slow streams")

    await asyncio.gather(*(client.prompt(p) for p in wl.shifted))


def shown(value: float | None) -> str:
    return "not exposed" if value is None else f"{value:.3g}"


def observe(client: Client, llm: MockLLM, wl: workload.Workload, s: Scrapes, notes: list[str]) -> dict[str, Any]:
    obs: dict[str, Any] = {}
    final = s.final
    page = final or ex.Page()

    # Counts compared with the truth need a page to read: without one they are "not observed".
    if final is None:
        notes.append("there was no /metrics page to read at the end, so nothing could be compared")
    else:
        answered = dict(sorted(client.answered.items()))
        expected = wl.expected_statuses
        if answered != expected:
            notes.append(f"the service answered {answered}; the service as given answers {expected}")
        wrong = ex.miscounted(page.by_label(ex.REQUESTS, "status"), answered, "status", "the service answered")
        obs["statuses_miscounted"] = len(wrong)
        notes.append(f"{ex.REQUESTS}: " + ("every status counted exactly" if not wrong else "; ".join(wrong)))

    duration, ttft = ex.histogram(page, ex.DURATION), ex.histogram(page, ex.TTFT)
    obs["duration_observations"] = round(duration.count()) if duration else 0
    obs["ttft_observations"] = round(ttft.count()) if ttft else 0
    notes.append(f"{ex.DURATION}_count = {obs['duration_observations']} ({wl.requests} requests sent); "
                 f"{ex.TTFT}_count = {obs['ttft_observations']} ({client.streams_with_text} streams carried text)")

    buckets = ex.bucket_problems(duration, ttft)
    obs["bucket_problems"] = len(buckets)
    notes.extend(buckets)

    bound = ex.largest_bound_at_most(duration, SLOW_DURATION_BOUND)
    whole = duration.above(bound) if duration and bound is not None else 0
    obs["slow_streams_timed_whole"] = min(len(wl.slow), round(whole))
    notes.append(f"{ex.DURATION}: {whole:g} observations above {bound} s (each of the {len(wl.slow)} slow streams "
                 f"lasts more than {SLOW_DURATION_BOUND:g} s)" if bound is not None
                 else f"{ex.DURATION}: no bucket boundary at or below {SLOW_DURATION_BOUND:g} s")

    bound = ex.largest_bound_at_most(ttft, SLOW_TTFT_BOUND)
    late = ttft.above(bound) if ttft and bound is not None else 0
    obs["slow_first_tokens_over_slo"] = min(len(wl.slow), round(late))
    notes.append(f"{ex.TTFT}: {late:g} observations above {bound} s (each slow stream's first token came after "
                 f"{workload.SLOW_CHUNK_DELAY:g} s)" if bound is not None
                 else f"{ex.TTFT}: no bucket boundary at or below {SLOW_TTFT_BOUND:g} s")

    problems = ex.histogram_problems(duration, ex.DURATION, s.elapsed) + ex.histogram_problems(ttft, ex.TTFT, s.elapsed)
    obs["histogram_problems"] = len(problems)
    notes.extend(problems)

    if final is not None:
        usage = llm.summary()
        tokens = {"prompt": usage["prompt_tokens"], "completion": usage["completion_tokens"]}
        wrong = ex.miscounted(final.by_label(ex.TOKENS, "type"), tokens, "type", "the model reported")
        obs["token_types_miscounted"] = len(wrong)
        notes.append(f"{ex.TOKENS}: " + ("prompt and completion tokens match the model's usage" if not wrong
                                         else "; ".join(wrong)))

    during, rest = ex.gauge(s.during, ex.IN_FLIGHT), ex.gauge(final, ex.IN_FLIGHT)
    if during is not None:
        obs["in_flight_during_streams"] = round(during)
    if rest is not None:
        obs["in_flight_at_rest"] = round(rest)
    notes.append(f"{ex.IN_FLIGHT}: {shown(during)} with {len(wl.slow)} slow streams open, {shown(rest)} once all "
                 f"were answered")

    if final is not None:
        most, where = ex.label_values(final)
        obs["max_label_values"] = most
        notes.append(f"labels: at most {most} values per label ({where or 'no labels'})")

    quiet, shifted = ex.gauge(s.quiet, ex.DRIFT), ex.gauge(final, ex.DRIFT)
    obs["drift_quiet"] = quiet is not None and quiet < ex.DRIFT_THRESHOLD
    obs["drift_detected"] = shifted is not None and shifted > ex.DRIFT_THRESHOLD
    notes.append(f"{ex.DRIFT}: {shown(quiet)} after {2 * workload.WINDOW} prompts of one distribution, "
                 f"{shown(shifted)} after {workload.WINDOW} longer ones (threshold {ex.DRIFT_THRESHOLD:g})")
    return obs


async def grade() -> h.LearnerRun:
    wl = workload.build()
    notes: list[str] = []

    def decide(req: Request, nth: int, seq: int) -> int | None:
        return wl.fail_status.get(req.last_user)

    llm = MockLLM(lambda req: workload.answer_text(req.key), faults=Faults(decide=decide, retry_after=None))
    await llm.start()
    port = free_port()
    started = time.monotonic()
    service = asyncio.create_task(h.run_learner(
        ["python3", "service.py"], timeout=LEARNER_TIMEOUT, output_cap=64 * 1024,
        env={"PORT": str(port), "UPSTREAM_BASE_URL": llm.base_url, "MODEL": "mock-gpt"}))
    scrapes = Scrapes()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY + len(wl.slow) + 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        client = Client(f"http://127.0.0.1:{port}", session)
        if await wait_ready(client, service):
            notes.append(f"the service answered /health after {time.monotonic() - started:.2f} s")
            try:
                await asyncio.wait_for(send_load(client, llm, wl, scrapes, notes), LOAD_TIMEOUT)
            except TimeoutError:
                notes.append(f"the load did not finish within {LOAD_TIMEOUT:g} s")
            scrapes.final = await client.scrape(notes, "at the end")
            scrapes.elapsed = time.monotonic() - started
        else:
            notes.append("the service never answered GET /health (see its output above)")
        obs = observe(client, llm, wl, scrapes, notes)
    await llm.stop()

    signal_learner(signal.SIGTERM)  # aiohttp's run_app shuts down cleanly on SIGTERM
    try:
        run = await asyncio.wait_for(asyncio.shield(service), 5)
    except TimeoutError:
        h.kill_learner_processes()
        run = await service
    notes.append(f"{len(llm.calls)} calls reached the model; the grader's run took {time.monotonic() - started:.1f} s")
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)
    return run


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

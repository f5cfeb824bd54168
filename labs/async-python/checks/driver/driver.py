"""Trusted driver for the async-python lab. Runs inside the sandbox as the driver user.

It serves a local aiohttp server on 127.0.0.1 whose paths are slow, flaky (503 twice,
then 200), always failing (500), client errors (404, 400) and hanging, every body
carrying a random per-run token. It runs the learner's fetch_all (through runner.py, as
the learner's user) in two scenarios and records, from the server's side only:

  pool        16 slow URLs, concurrency 4: most requests in flight at once, and how long
              the whole batch took compared with doing it one by one.
  resilience  8 mixed URLs, concurrency 8, timeout 0.5 s, retries 2, backoff 0.2 s:
              requests per URL, the gap before each retry, whether each hanging request
              was abandoned within the timeout.

After each fetch_all returns, the runner freezes its event loop and signals the driver,
which counts the connections its server still has open after a short grace.

Every observation is an integer or a boolean decided with wide margins around the
timings, so the same submission gets byte-identical reports run after run.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; sfharness.py sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import secrets  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import sfharness as h  # noqa: E402
from aiohttp import web  # noqa: E402

RUNNER_SOURCE = Path(__file__).with_name("runner.py").read_text(encoding="utf-8")
LEARNER_TIMEOUT = 15.0  # seconds for the learner's whole process (a correct one needs ~4)
GRACE = 0.3  # seconds between "fetch_all returned" and counting open connections
CONTROL_LINE_LIMIT = 2 * 1024 * 1024

SLOW_DELAY = 0.3  # each pool URL answers after this long
HANG_SECONDS = 3.0  # a hanging URL answers (too late) after this long, if still connected
POOL = {"name": "pool", "concurrency": 4, "timeout": 5.0, "retries": 1, "backoff": 0.1}
POOL_SIZE = 16
RESILIENCE = {"name": "resilience", "concurrency": 8, "timeout": 0.5, "retries": 2, "backoff": 0.2}
# kind, and for client errors the status served
RESILIENCE_KINDS = ["ok", "flaky", "404", "server_error", "hang", "flaky", "400", "ok"]

# Margins (the pass/fail thresholds live in checks.toml on the host; these only turn
# timings into booleans and counts, far from where a correct or a wrong solution lands).
CONCURRENT_SPAN_FRACTION = 0.5  # the pool must finish in at most half the one-by-one time
FIRST_GAP_FRACTION = 0.6  # the first retry waits at least 0.6 x backoff ...
GAP_GROWTH = 1.4  # ... and the second at least 1.4 x the first
ABANDON_SLACK = 0.5  # a hanging request must be dropped within timeout + 0.5 s


@dataclass
class Attempt:
    started: float
    ended: float | None = None
    status: int | None = None
    abandoned: bool = False  # the client went away before we answered


@dataclass
class Target:
    scenario: str
    kind: str
    url: str
    body: str
    attempts: list[Attempt] = field(default_factory=list)

    def plan(self, n: int) -> tuple[int, str, float]:
        """Status, body and delay for this target's n-th request (0-based)."""
        if self.kind == "pool":
            return 200, self.body, SLOW_DELAY
        if self.kind == "flaky" and n < 2:
            return 503, "busy, try again later\n", 0.0
        if self.kind == "server_error":
            return 500, self.body, 0.0
        if self.kind in ("404", "400"):
            return int(self.kind), self.body, 0.0
        if self.kind == "hang":
            return 200, "too late\n", HANG_SECONDS
        return 200, self.body, 0.0

    def expected(self) -> dict[str, Any]:
        """What a correct fetch_all reports for this URL."""
        if self.kind == "hang":
            return {"url": self.url, "status": None, "body": None, "error": "timeout"}
        status = {"server_error": 500, "404": 404, "400": 400}.get(self.kind, 200)
        return {"url": self.url, "status": status, "body": self.body, "error": None}


@dataclass
class InFlight:
    now: int = 0
    peak: int = 0


class Grader:
    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}
        self.inflight = {POOL["name"]: InFlight(), RESILIENCE["name"]: InFlight()}
        self.reports: list[dict[str, Any]] = []  # what the runner sent, in order
        self.open_after: list[int] = []  # server connections open after each fetch_all
        self.control_taken = False
        self.server: Any = None
        self.port = 0

    # -- the HTTP server the learner's code talks to ---------------------------------

    def add(self, scenario: str, kind: str) -> Target:
        key = secrets.token_hex(6)
        url = f"http://127.0.0.1:{self.port}/t/{key}"
        target = Target(scenario, kind, url, f"{kind}:{secrets.token_hex(12)}\n")
        self.targets[key] = target
        return target

    async def handle(self, request: web.Request) -> web.Response:
        target = self.targets.get(request.match_info["key"])
        if target is None:
            return web.Response(status=404, text="no such path on this grader\n")
        attempt = Attempt(started=time.monotonic())
        status, body, delay = target.plan(len(target.attempts))
        target.attempts.append(attempt)
        stats = self.inflight[target.scenario]
        stats.now += 1
        stats.peak = max(stats.peak, stats.now)
        try:
            if delay:
                await asyncio.sleep(delay)
            attempt.status = status
            return web.Response(status=status, text=body)
        except asyncio.CancelledError:  # handler_cancellation: the client closed the connection
            attempt.abandoned = True
            raise
        finally:
            attempt.ended = time.monotonic()
            stats.now -= 1

    # -- the control channel from runner.py ---------------------------------------------

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.control_taken:  # one channel, opened by the runner before the learner's code loads
            writer.close()
            return
        self.control_taken = True
        try:
            while line := await reader.readline():
                try:
                    doc = json.loads(line)
                except ValueError:
                    doc = None
                if not isinstance(doc, dict):
                    break
                self.reports.append(doc)
                if doc.get("event") == "done":
                    await asyncio.sleep(GRACE)
                    self.open_after.append(len(self.server.connections))
                writer.write(b"ok\n")
                await writer.drain()
        except (ConnectionError, ValueError):  # ValueError: a line over the limit
            pass
        finally:
            writer.close()


def scenario_config(scenario: dict[str, Any], targets: list[Target]) -> dict[str, Any]:
    return {**scenario, "urls": [t.url for t in targets]}


def reported_results(report: dict[str, Any] | None, count: int) -> list[Any]:
    results = report.get("results") if report else None
    if not isinstance(results, list):
        return [None] * count
    return (results + [None] * count)[:count]


def describe(result: Any, served: str) -> str:
    """A result, briefly, for the learner's log (bodies are compared, never echoed)."""
    if not isinstance(result, dict):
        return "no result"
    body = result.get("body")
    shown = "body=None" if body is None else ("the body served" if body == served else "a different body")
    return f"status={result.get('status')!r:.40}, error={result.get('error')!r:.80}, {shown}"


def gaps(target: Target) -> list[float]:
    """Seconds between the end of each request and the start of the next."""
    a = target.attempts
    return [a[i + 1].started - (a[i].ended or a[i].started) for i in range(len(a) - 1)]


def observe_results(g: Grader, pool: list[Target], res: list[Target], obs: dict[str, Any], notes: list[str]) -> None:
    """Each reported result must equal what the server really served (random tokens)."""
    done = [r for r in g.reports if r.get("event") == "done"]
    if any(r.get("event") == "import_error" for r in g.reports):
        notes.append("fetcher.py could not be imported (see the traceback above)")
    for r in done:
        if r.get("error"):
            notes.append(f"{r.get('scenario')}: {str(r['error'])[:300]}")
    if len(done) < 2:
        notes.append("fetch_all did not return for every scenario")
    correct = pool_wrong = 0
    for i, targets in enumerate((pool, res)):
        report = done[i] if len(done) > i else None
        listed = report is not None and isinstance(report.get("results"), list)
        for target, got in zip(targets, reported_results(report, len(targets)), strict=True):
            want = target.expected()
            if got == want:
                correct += 1
            elif target.kind == "pool":
                pool_wrong += 1
            elif listed:
                notes.append(f"{target.kind} URL: expected {describe(want, target.body)}; got {describe(got, target.body)}")
        if i == 0 and pool_wrong and listed:
            notes.append(f"pool: {pool_wrong} of {len(pool)} results differ from what the server sent")
    obs["correct_results"] = correct


def observe_pool(g: Grader, pool: list[Target], obs: dict[str, Any], notes: list[str]) -> None:
    """Bounded (peak in flight <= limit) and really concurrent (peak reaches it, and fast)."""
    attempts = [a for t in pool for a in t.attempts]
    if not attempts:  # no max_in_flight observation: the check reports "not observed"
        obs["ran_concurrently"] = False
        notes.append("pool: no request reached the server")
        return
    peak = g.inflight[POOL["name"]].peak
    span = max(a.ended or a.started for a in attempts) - min(a.started for a in attempts)
    sequential = POOL_SIZE * SLOW_DELAY
    obs["max_in_flight"] = peak
    obs["ran_concurrently"] = peak >= POOL["concurrency"] and span <= CONCURRENT_SPAN_FRACTION * sequential
    notes.append(
        f"pool: at most {peak} requests in flight (limit {POOL['concurrency']}); "
        f"the batch took {span:.1f} s, one by one it takes {sequential:.1f} s"
    )


def observe_resilience(res: list[Target], obs: dict[str, Any], notes: list[str]) -> None:
    """Retries on 5xx with growing gaps, none on 4xx, hanging requests dropped in time."""
    allowed = RESILIENCE["retries"] + 1
    backoff = RESILIENCE["backoff"]
    five_xx = [t for t in res if t.kind in ("flaky", "server_error")]
    obs["retried_5xx"] = sum(len(t.attempts) == allowed for t in five_xx)
    grew = 0
    for t in five_xx:
        gp = gaps(t)
        if len(gp) >= 2 and gp[0] >= FIRST_GAP_FRACTION * backoff and gp[1] >= GAP_GROWTH * gp[0]:
            grew += 1
        shown = ", ".join(f"{x:.2f} s" for x in gp) or "none"
        notes.append(f"{t.kind} URL: {len(t.attempts)} requests, gaps before retries: {shown}")
    obs["backoff_grew"] = grew

    client_errors = [t for t in res if t.kind in ("404", "400")]
    obs["client_errors_not_retried"] = sum(len(t.attempts) == 1 for t in client_errors)
    notes.extend(f"HTTP {t.kind} URL: {len(t.attempts)} requests" for t in client_errors)

    limit = RESILIENCE["timeout"] + ABANDON_SLACK
    hang = [a for t in res if t.kind == "hang" for a in t.attempts]
    in_time = [a.abandoned and a.ended is not None and a.ended - a.started <= limit for a in hang]
    obs["timeouts_abandoned"] = sum(in_time)
    shown = ", ".join(
        f"dropped after {a.ended - a.started:.2f} s" if a.abandoned and a.ended is not None else "not dropped" for a in hang
    )
    notes.append(f"hanging URL: {shown or 'never requested'}")


def observe(g: Grader, pool: list[Target], res: list[Target]) -> tuple[dict[str, Any], list[str]]:
    """The observations for checks.toml, and notes for the learner's log."""
    obs: dict[str, Any] = {}
    notes: list[str] = []
    observe_results(g, pool, res, obs, notes)
    requested = any(t.attempts for t in g.targets.values())
    detail: list[str] = notes if requested else []  # per-path detail only when there is some
    observe_pool(g, pool, obs, detail)
    observe_resilience(res, obs, detail)
    # Session: nothing left open once fetch_all returned, in both scenarios.
    both = any(t.attempts for t in pool) and any(t.attempts for t in res)
    obs["session_closed"] = both and len(g.open_after) >= 2 and not any(g.open_after[:2])
    if requested:
        notes.append(f"connections still open when fetch_all returned: {g.open_after[:2] or 'not reported'}")
    else:
        notes.append("no request from fetch_all reached the grader's server")
    return obs, notes


async def grade() -> None:
    g = Grader()
    app = web.Application()
    app.router.add_get("/t/{key}", g.handle)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    g.server = runner.server
    g.port = runner.addresses[0][1]
    control = await asyncio.start_server(g.control, "127.0.0.1", 0, limit=CONTROL_LINE_LIMIT)
    control_port = control.sockets[0].getsockname()[1]

    pool = [g.add(POOL["name"], "pool") for _ in range(POOL_SIZE)]
    res = [g.add(RESILIENCE["name"], kind) for kind in RESILIENCE_KINDS]
    config = {
        "control_port": control_port,
        "scenarios": [scenario_config(POOL, pool), scenario_config(RESILIENCE, res)],
    }
    run = await h.run_learner(
        ["python3", "-I", "-c", RUNNER_SOURCE],
        timeout=LEARNER_TIMEOUT,
        stdin=json.dumps(config).encode(),
        output_cap=64 * 1024,
    )
    obs, notes = observe(g, pool, res)
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)
    control.close()
    try:
        await asyncio.wait_for(runner.cleanup(), 3)
    except TimeoutError:
        pass


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

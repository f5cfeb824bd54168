"""A fake model, your service in front of it, and helpers to send load and read /metrics.

Run from the folder that holds service.py, metrics.py and alerts.yml:

    python -m pytest public_tests -q

(or set SERVICE_DIR=/path/to/folder). The fake model speaks the OpenAI streaming chat
API like the grader's: a first chunk with only the role, then the text word by word,
then the usage. A prompt containing "[fail]" gets HTTP 503; one containing "[slow]" waits
1.2 s before its first word and then holds the stream open until the test releases it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

_here = Path(__file__).resolve().parent
for _folder in (os.environ.get("SERVICE_DIR"), os.getcwd(), str(_here.parent)):
    if _folder and (Path(_folder) / "service.py").is_file():
        SERVICE_DIR = Path(_folder).resolve()
        break
else:
    pytest.exit("service.py not found: run pytest from the folder that holds it, or set SERVICE_DIR", returncode=4)

SLOW_FIRST_TOKEN = 1.2  # seconds a "[slow]" prompt waits before its first word


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeModel:
    """An OpenAI-compatible streaming model on 127.0.0.1, in its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0
        self.usage = defaultdict(int)  # tokens the model reported, summed over answered calls
        self.calls = 0
        self.gate: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.calls += 1
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        if "[fail]" in prompt:
            return web.json_response({"error": {"message": "overloaded (fake)", "type": "server_error"}}, status=503)
        words = [f"word{i % 7}" for i in range(5 + len(prompt) % 11)]
        prompt_tokens = sum(len(m["content"]) // 4 + 4 for m in body["messages"]) + 3
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(words),
                 "total_tokens": prompt_tokens + len(words)}
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(doc):
            await resp.write(b"data: " + json.dumps(doc).encode() + b"\n\n")

        await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        slow = "[slow]" in prompt
        if slow:
            await asyncio.sleep(SLOW_FIRST_TOKEN)
        for i, word in enumerate(words):
            await send({"choices": [{"index": 0, "delta": {"content": (" " if i else "") + word}}]})
            if slow and i == 0:
                await self.gate.wait()
        await send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            await send({"choices": [], "usage": usage})
        for key in ("prompt_tokens", "completion_tokens"):
            self.usage[key] += usage[key]
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def _start(self) -> None:
        self.gate = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def release(self) -> None:
        """Let the held "[slow]" streams finish."""
        self.loop.call_soon_threadsafe(self.gate.set)

    def stop(self) -> None:
        self.release()
        try:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


class Scrape:
    """A /metrics page, parsed with prometheus_client's parser (as Prometheus reads it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.types: dict[str, str] = {}
        self.samples: dict[str, list[tuple[dict, float]]] = defaultdict(list)
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for s in family.samples:
                self.samples[s.name].append((dict(s.labels), s.value))

    def value(self, name: str, **labels) -> float | None:
        """The sum of the samples called `name` whose labels include `labels` (None: none)."""
        found = [v for lab, v in self.samples.get(name, []) if all(lab.get(k) == w for k, w in labels.items())]
        return sum(found) if found else None

    def by(self, name: str, label: str) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for lab, v in self.samples.get(name, []):
            out[lab.get(label, "(none)")] += v
        return dict(out)

    def buckets(self, name: str) -> dict[float, float]:
        """Upper bound -> cumulative count of a histogram, summed over its other labels."""
        out: dict[float, float] = defaultdict(float)
        for lab, v in self.samples.get(name + "_bucket", []):
            out[float(lab["le"])] += v
        return dict(sorted(out.items()))


class Service:
    """Your service.py, started as `python service.py` in front of the fake model."""

    def __init__(self, model: FakeModel) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        env.update({"PORT": str(self.port), "UPSTREAM_BASE_URL": model.base_url, "MODEL": "mock-gpt",
                    "PYTHONUNBUFFERED": "1"})
        self.proc = subprocess.Popen([sys.executable, "service.py"], cwd=SERVICE_DIR, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("service.py exited at start:\n" + self.proc.stdout.read().decode(errors="replace"))
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("service.py did not answer GET /health within 20 s")

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                on_first_token=None) -> tuple[int, list[dict]]:
        """Status and the JSON events of the answer (or the error body as one event)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            if resp.getheader("Content-Type", "").startswith("text/event-stream"):
                events: list[dict] = []
                while line := resp.readline():
                    if line.startswith(b"data:"):
                        events.append(json.loads(line[5:]))
                        if on_first_token and "token" in events[-1]:
                            on_first_token()
                            on_first_token = None
                return resp.status, events
            data = resp.read()
            return resp.status, [json.loads(data)] if data.startswith(b"{") else []
        finally:
            conn.close()

    def generate(self, prompt, request_id: str, user: str, on_first_token=None) -> int:
        body = json.dumps({"prompt": prompt, "max_tokens": 128, "user": user}).encode()
        return self.request("POST", "/v1/generate", body, {"X-Request-ID": request_id}, on_first_token)[0]

    def metrics(self) -> Scrape:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        return Scrape(text)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="module")
def model():
    m = FakeModel()
    m.start()
    yield m
    m.stop()


@pytest.fixture(scope="module")
def service(model):
    s = Service(model)
    yield s
    s.stop()


def run_all(calls, workers: int = 8):
    """Run zero-argument callables concurrently; their results in order."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda f: f(), calls))

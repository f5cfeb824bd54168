"""A real local HTTP server for the public tests, and a way to find your fetcher.py.

Run from the folder that holds fetcher.py:

    python -m pytest public_tests -q

(or set FETCHER_DIR=/path/to/folder). The server runs in its own thread with its own
event loop, like a real remote server: it counts requests in flight, records when each
request started and ended, notices requests the client gave up on, and can tell how
many of your connections are still open.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

_here = Path(__file__).resolve().parent
for folder in (os.environ.get("FETCHER_DIR"), os.getcwd(), str(_here.parent)):
    if folder and (Path(folder) / "fetcher.py").is_file():
        sys.path.insert(0, folder)
        break
else:
    pytest.exit("fetcher.py not found: run pytest from the folder that holds it, or set FETCHER_DIR", returncode=4)


@dataclass
class Attempt:
    started: float
    ended: float | None = None
    abandoned: bool = False  # the client closed the connection before we answered

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started


class LocalServer:
    """Paths (any name after the kind):

    /ok/<name>       200 at once
    /slow/<name>     200 after ?delay= seconds (default 0.2)
    /flaky/<name>    503, 503, then 200
    /error/<name>    500, always
    /missing/<name>  404, always
    /bad/<name>      400, always
    /hang/<name>     does not answer for 5 s (then says "too late")

    Every body holds a random token, so body() tells you what a path really served.
    """

    def __init__(self) -> None:
        self.token = secrets.token_hex(6)
        self.attempts: dict[str, list[Attempt]] = defaultdict(list)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.port = 0

    # -- for tests ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def body(self, path: str) -> str:
        return f"{path.split('?')[0]} {self.token}\n"

    def requests(self, path: str) -> list[Attempt]:
        """Every request the server received for `path`, once it has finished with them."""
        self.wait_idle()
        return self.attempts[path.split("?")[0]]

    def wait_idle(self, seconds: float = 1.0) -> None:
        """Give the server a moment to notice requests the client has just given up on."""
        deadline = time.monotonic() + seconds
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)

    def gaps(self, path: str) -> list[float]:
        """Seconds between the end of each request to `path` and the start of the next."""
        a = self.requests(path)
        return [a[i + 1].started - (a[i].ended or a[i].started) for i in range(len(a) - 1)]

    def open_connections(self) -> int:
        """Connections from clients that are still open, counted on the server's own loop."""

        async def count() -> int:
            return len(self.runner.server.connections) if self.runner.server else 0

        return asyncio.run_coroutine_threadsafe(count(), self.loop).result(5)

    # -- the server ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        kind, path = request.match_info["kind"], request.path
        attempt = Attempt(time.monotonic())
        earlier = len(self.attempts[path])
        self.attempts[path].append(attempt)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            body = self.body(path)
            if kind == "slow":
                await asyncio.sleep(float(request.query.get("delay", "0.2")))
            elif kind == "flaky" and earlier < 2:
                return web.Response(status=503, text="busy, try again later\n")
            elif kind == "hang":
                await asyncio.sleep(5)
                return web.Response(text="too late\n")
            status = {"error": 500, "missing": 404, "bad": 400}.get(kind, 200)
            return web.Response(status=status, text=body)
        except asyncio.CancelledError:
            attempt.abandoned = True
            raise
        finally:
            attempt.ended = time.monotonic()
            self.in_flight -= 1

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/{kind}/{name}", self._handle)
        # handler_cancellation: a handler is cancelled when its client disconnects.
        self.runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


@pytest.fixture
def server():
    s = LocalServer()
    s.start()
    yield s
    s.stop()

"""The ticket-router inference service, ready for a container and for Kubernetes.

    GET  /healthz   200 while the process is alive (liveness: no dependencies checked)
    GET  /readyz    200 once the model is loaded and until shutdown starts, else 503
    POST /predict   {"inputs": ["text", ...]} -> {"model": ..., "predictions": [{"label", "score"}]}

Listens on 0.0.0.0:$PORT (default 8080). On SIGTERM (what `docker stop` and Kubernetes
send) it reports not-ready at once, keeps serving what is in flight, and exits 0 once
nothing is (at most DRAIN_SECONDS later), well inside the pod's grace period.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path

from aiohttp import web
from model import TicketRouter

MODEL_PATH = Path(__file__).with_name("model.json")
MAX_BODY = 64 * 1024
MAX_INPUTS = 32
MAX_TEXT = 2000
MIN_DRAIN_SECONDS = 0.5  # give load balancers a moment to see /readyz fail
DRAIN_SECONDS = 8.0  # never outlive the 10 s the platform (and our pod spec) allows

log = logging.getLogger("ticket-router")


class State:
    def __init__(self) -> None:
        self.model: TicketRouter | None = None
        self.draining = False
        self.in_flight = 0


STATE = web.AppKey("state", State)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def count_in_flight(request: web.Request, handler):
    state = request.app[STATE]
    state.in_flight += 1
    try:
        return await handler(request)
    finally:
        state.in_flight -= 1


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.draining:
        return error(503, "shutting down")
    if state.model is None:
        return error(503, "model not loaded")
    return web.json_response({"status": "ready", "model": state.model.version})


async def predict(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.model is None:
        return error(503, "model not loaded")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"body over {MAX_BODY} bytes")
    try:
        doc = json.loads(raw)
    except ValueError:
        return error(400, "body is not JSON")
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    if not isinstance(inputs, list) or not inputs:
        return error(400, 'expected {"inputs": ["text", ...]} with at least one text')
    if len(inputs) > MAX_INPUTS:
        return error(400, f"at most {MAX_INPUTS} inputs per request")
    if not all(isinstance(t, str) and len(t) <= MAX_TEXT for t in inputs):
        return error(400, f"every input must be a string of at most {MAX_TEXT} characters")
    return web.json_response({"model": state.model.version, "predictions": state.model.predict(inputs)})


def make_app(state: State) -> web.Application:
    app = web.Application(middlewares=[count_in_flight], client_max_size=MAX_BODY)
    app[STATE] = state
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/predict", predict)
    return app


async def serve() -> None:
    state = State()
    runner = web.AppRunner(make_app(state), access_log=None)
    await runner.setup()
    port = int(os.environ.get("PORT", "8080"))
    await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - a container must listen on all interfaces
    state.model = TicketRouter.load(MODEL_PATH)
    log.info("serving %s on port %d", state.model.version, port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()

    state.draining = True
    log.info("SIGTERM: draining %d request(s) in flight", state.in_flight)
    started = time.monotonic()
    deadline = started + DRAIN_SECONDS
    while time.monotonic() < deadline and (state.in_flight or time.monotonic() - started < MIN_DRAIN_SECONDS):
        await asyncio.sleep(0.05)
    await runner.cleanup()
    log.info("stopped")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(serve())

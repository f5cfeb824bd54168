"""A streaming text-generation service in front of an OpenAI-compatible LLM.

    POST /v1/generate   {"prompt": "...", "max_tokens": 256, "user": "..."}   (optional X-Request-ID header)
        200  text/event-stream: one `data: {"token": "..."}` event per piece of text, then
             `data: {"done": true, "usage": {"prompt_tokens": ..., "completion_tokens": ...}}`
        400  {"error": "..."}  the body is not a valid request (see validate())
        502  {"error": "..."}  the model answered with an error or could not be reached
        504  {"error": "..."}  the model did not answer in time
    GET /metrics        Prometheus text exposition of the default registry
    GET /health         {"status": "ok"}

Configured from the environment: PORT (8080), UPSTREAM_BASE_URL (an OpenAI-compatible base
URL ending in /v1), MODEL (mock-gpt), UPSTREAM_API_KEY (sent as a bearer token).

Run it with `python service.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid

import metrics
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and accurately."
MAX_PROMPT_CHARS = 20_000
MAX_TOKENS_LIMIT = 1024
UPSTREAM_TIMEOUT = ClientTimeout(total=None, sock_connect=5, sock_read=30)
GENERATE_PATH = "/v1/generate"


def json_error(status: int, message: str) -> web.HTTPException:
    """An aiohttp HTTP error with a JSON body; raise it."""
    cls = {400: web.HTTPBadRequest, 502: web.HTTPBadGateway, 504: web.HTTPGatewayTimeout}[status]
    return cls(text=json.dumps({"error": message}), content_type="application/json")


def validate(body: object) -> tuple[str, int, str | None]:
    """The prompt, max_tokens and user of a valid request body; HTTP 400 otherwise."""
    if not isinstance(body, dict):
        raise json_error(400, "the body must be a JSON object")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise json_error(400, "'prompt' must be a non-empty string")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise json_error(400, f"'prompt' is longer than {MAX_PROMPT_CHARS} characters")
    max_tokens = body.get("max_tokens", 256)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise json_error(400, f"'max_tokens' must be an integer from 1 to {MAX_TOKENS_LIMIT}")
    user = body.get("user")
    if user is not None and not isinstance(user, str):
        raise json_error(400, "'user' must be a string")
    return prompt, max_tokens, user


def sse(doc: dict) -> bytes:
    return b"data: " + json.dumps(doc).encode() + b"\n\n"


async def upstream_chunks(response):
    """The JSON chunks of an OpenAI chat-completions stream (Server-Sent Events)."""
    async for raw in response.content:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[len("data:"):].strip()
        if data == "[DONE]":
            return
        yield json.loads(data)


@web.middleware
async def instrument(request: web.Request, handler):
    """Count, time and track every request to /v1/generate, whatever its outcome."""
    if request.path != GENERATE_PATH:
        return await handler(request)
    request["started"] = time.perf_counter()
    metrics.IN_FLIGHT.inc()
    status = 500  # an exception we did not expect is a bug of ours: a 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away before we finished
        raise
    finally:
        metrics.REQUESTS.labels(status=str(status)).inc()
        metrics.REQUEST_DURATION.observe(time.perf_counter() - request["started"])
        metrics.IN_FLIGHT.dec()


async def generate(request: web.Request) -> web.StreamResponse:
    started = request.get("started", time.perf_counter())
    request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    try:
        body = await request.json()
    except ValueError:
        raise json_error(400, "the body is not valid JSON") from None
    prompt, max_tokens, user = validate(body)
    metrics.DRIFT.observe(prompt)

    payload = {
        "model": request.app["model"],
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if user:
        payload["user"] = user
    session: ClientSession = request.app["upstream"]
    url = request.app["upstream_url"] + "/chat/completions"
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                           "X-Request-ID": request_id})
    try:
        async with session.post(url, json=payload) as upstream:
            if upstream.status != 200:
                detail = (await upstream.text())[:200]
                raise json_error(502, f"the model answered HTTP {upstream.status}: {detail}")
            await response.prepare(request)
            usage = None
            first_token = True
            async for chunk in upstream_chunks(upstream):
                for choice in chunk.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        if first_token:
                            metrics.TIME_TO_FIRST_TOKEN.observe(time.perf_counter() - started)
                            first_token = False
                        await response.write(sse({"token": text}))
                if chunk.get("usage"):
                    usage = chunk["usage"]
    except (ClientError, ValueError) as exc:
        if response.prepared:  # too late for an error status: end the stream
            with contextlib.suppress(ConnectionError, ClientError):
                await response.write(sse({"error": "the model's stream broke off"}))
                await response.write_eof()
            return response
        raise json_error(502, f"the model could not be reached: {type(exc).__name__}") from None
    except TimeoutError:
        if response.prepared:
            with contextlib.suppress(ConnectionError, ClientError):
                await response.write_eof()
            return response
        raise json_error(504, "the model did not answer in time") from None
    if usage:
        metrics.TOKENS.labels(type="prompt").inc(usage.get("prompt_tokens", 0))
        metrics.TOKENS.labels(type="completion").inc(usage.get("completion_tokens", 0))
    await response.write(sse({"done": True, "usage": usage}))
    await response.write_eof()
    return response


async def metrics_page(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def upstream_session(app: web.Application):
    headers = {}
    if key := os.environ.get("UPSTREAM_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    async with ClientSession(timeout=UPSTREAM_TIMEOUT, headers=headers) as session:
        app["upstream"] = session
        yield


def make_app() -> web.Application:
    app = web.Application(middlewares=[instrument])
    app["model"] = os.environ.get("MODEL", "mock-gpt")
    app["upstream_url"] = os.environ.get("UPSTREAM_BASE_URL", "http://127.0.0.1:9000/v1").rstrip("/")
    app.cleanup_ctx.append(upstream_session)
    app.router.add_post(GENERATE_PATH, generate)
    app.router.add_get("/metrics", metrics_page)
    app.router.add_get("/health", health)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8080")), access_log=None,
                print=lambda line: print(line, flush=True), shutdown_timeout=2)

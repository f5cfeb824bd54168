"""A deterministic mock LLM server speaking the OpenAI chat-completions API, for labs'
trusted drivers. Standard library + aiohttp only; copied to /grader beside sfharness.py.

    from mockllm import MockLLM, Faults, Scripted
    async with MockLLM(Scripted([(r"capital of France", "Paris.")]), faults=Faults(rate_limit_first=1)) as llm:
        run = await h.run_learner([...], env={"OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-mock"}, ...)
    obs = llm.summary()           # calls, duplicates, cache misses, retries that honoured Retry-After, ...

The answer is a pure function of the request (model, messages and every parameter but
`stream`), so the same request gets the same body bytes, streamed or not. A behaviour is
any callable Request -> Answer | str | ToolCall | None (None: "not mine", the next one or
the default answers). Building blocks: Scripted, QualityProfile, Judge, Canary,
ToolScript, chain. Faults (429 with Retry-After, 5xx, latency) are decided per request
key and per global call number, never by chance. See docs/mockllm.md.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

try:  # in the repository the harness is a package; inside a sandbox, a folder on sys.path
    from .mockllm_behaviours import (
        Answer,
        Behaviour,
        Canary,
        Judge,
        QualityProfile,
        Request,
        Scripted,
        ToolCall,
        ToolScript,
        as_answer,
        chain,
        count_tokens,
        default_behaviour,
        digest,
        text_of,
    )
except ImportError:
    from mockllm_behaviours import (  # type: ignore[no-redef]
        Answer,
        Behaviour,
        Canary,
        Judge,
        QualityProfile,
        Request,
        Scripted,
        ToolCall,
        ToolScript,
        as_answer,
        chain,
        count_tokens,
        default_behaviour,
        digest,
        text_of,
    )

__all__ = ["Answer", "Behaviour", "Call", "Canary", "Faults", "Judge", "MockLLM", "QualityProfile", "Request", "Scripted",
           "ToolCall", "ToolScript", "chain", "count_tokens", "default_behaviour"]

CREATED = 1_700_000_000  # the fixed "created" of every answer: no clocks in the bytes
DEFAULT_MODELS = ("mock-gpt", "mock-judge")
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
UNKEYED = {"stream", "stream_options", "user", "metadata", "store"}  # do not change the answer
STATUS_TEXT = {429: ("rate_limit_error", "rate_limit_exceeded", "Rate limit reached for requests (mock)."),
               500: ("server_error", "server_error", "The server had an error processing your request (mock)."),
               502: ("server_error", "bad_gateway", "Bad gateway (mock)."),
               503: ("server_error", "service_unavailable", "The engine is currently overloaded (mock)."),
               504: ("server_error", "timeout", "The upstream timed out (mock).")}



@dataclass
class Faults:
    """Deterministic faults. Per request key: the first `rate_limit_first` calls get 429
    (Retry-After: retry_after), the next `server_error_first` get `server_error_status`.
    `schedule` maps global call numbers (1-based) to a status; `decide(request, nth, seq)`
    may return one too. More than `max_concurrent` requests in flight: 429. `latency`
    seconds before every answer, `chunk_delay` between streamed chunks."""

    rate_limit_first: int = 0
    server_error_first: int = 0
    server_error_status: int = 500
    retry_after: float | None = 1.0
    schedule: Mapping[int, int] = field(default_factory=dict)
    max_concurrent: int | None = None
    latency: float = 0.0
    chunk_delay: float = 0.0
    decide: Callable[[Request, int, int], int | None] | None = None

    def status(self, req: Request, nth: int, seq: int, in_flight: int) -> int:
        if seq in self.schedule:
            return self.schedule[seq]
        if self.decide and (status := self.decide(req, nth, seq)):
            return status
        if self.max_concurrent is not None and in_flight > self.max_concurrent:
            return 429
        if nth < self.rate_limit_first:
            return 429
        if nth < self.rate_limit_first + self.server_error_first:
            return self.server_error_status
        return 200


@dataclass(frozen=True)
class Call:
    """One request the server answered, in arrival order."""

    seq: int  # 1-based arrival number
    path: str  # "chat" | "judge"
    key: str  # request key ("" for a malformed request)
    model: str
    at: float  # seconds since the server started
    status: int
    nth: int  # earlier calls with the same key
    duplicate: bool  # nth > 0
    after_success: bool  # an identical request was already answered 200: a cache miss
    gap: float | None  # seconds since the previous call with the same key was answered
    retry_after: float | None  # what this response asked the client to wait
    streamed: bool
    prompt_tokens: int
    completion_tokens: int
    concurrent: int  # requests in flight when it arrived, itself included
    tags: tuple[str, ...] = ()
    error: str | None = None


class BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400, code: str = "invalid_request") -> None:
        super().__init__(message)
        self.message, self.param, self.status, self.code = message, param, status, code


def error_body(message: str, type_: str, code: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _need(ok: bool, message: str, param: str) -> None:
    if not ok:
        raise BadRequest(message, param)


def validate(body: Any) -> None:
    """OpenAI's rules for the fields the mock uses; a clear 400 for anything else."""
    _need(isinstance(body, dict), "The body must be a JSON object.", "body")
    _need(isinstance(body.get("model"), str) and body["model"] != "", "'model' must be a non-empty string.", "model")
    msgs = body.get("messages")
    _need(isinstance(msgs, list) and len(msgs) > 0, "'messages' must be a non-empty array.", "messages")
    for i, m in enumerate(msgs):
        where = f"messages[{i}]"
        _need(isinstance(m, dict) and m.get("role") in ROLES, f"{where} needs a 'role', one of {sorted(ROLES)}.", where)
        c = m.get("content")
        _need(c is None or isinstance(c, str) or (isinstance(c, list) and all(isinstance(p, dict) for p in c)),
              f"{where}.content must be a string, an array of content parts or null.", f"{where}.content")
        _need(c is not None or m["role"] == "assistant", f"{where}.content may be null only for assistant.", where)
        _need(m["role"] != "tool" or isinstance(m.get("tool_call_id"), str), f"{where} needs 'tool_call_id'.", where)
    t = body.get("temperature")
    _need(t is None or (isinstance(t, int | float) and not isinstance(t, bool) and 0 <= t <= 2),
          "'temperature' must be a number between 0 and 2.", "temperature")
    for name in ("max_tokens", "max_completion_tokens"):
        v = body.get(name)
        _need(v is None or (isinstance(v, int) and not isinstance(v, bool) and v > 0), f"'{name}' must be a positive integer.",
              name)
    _need(body.get("n", 1) in (1, None), "The mock answers n=1 only.", "n")
    _need(isinstance(body.get("stream", False), bool | None), "'stream' must be a boolean.", "stream")
    tools = body.get("tools")
    _need(tools is None or (isinstance(tools, list) and all(
        isinstance(x, dict) and x.get("type") == "function" and isinstance(x.get("function"), dict)
        and isinstance(x["function"].get("name"), str) for x in tools)),
          "'tools' must be an array of {type: 'function', function: {name, ...}}.", "tools")
    choice = body.get("tool_choice")
    names = [x["function"]["name"] for x in tools or []]
    _need(choice is None or choice in ("none", "auto", "required") or (
        isinstance(choice, dict) and isinstance(choice.get("function"), dict) and choice["function"].get("name") in names),
          "'tool_choice' must be 'none', 'auto', 'required' or name one of the tools.", "tool_choice")
    _need(choice in (None, "none") or bool(tools), "'tool_choice' needs 'tools'.", "tool_choice")


def prompt_tokens(body: dict[str, Any]) -> int:
    """Four tokens a message plus its text, three to prime the answer, plus the tools' JSON."""
    total = 3
    for m in body.get("messages", []):
        calls = m.get("tool_calls")
        total += 4 + count_tokens(text_of(m.get("content"))) + (count_tokens(json.dumps(calls)) if calls else 0)
    return total + (count_tokens(json.dumps(body["tools"], sort_keys=True)) if body.get("tools") else 0)


# -- the server ---------------------------------------------------------------------------------


class MockLLM:
    """The server. `async with MockLLM(behaviour) as llm:` serves on 127.0.0.1 (a free port
    unless `port`); llm.base_url ends in /v1, as OpenAI clients want. `calls` lists every
    chat and judge request; summary() turns them into counts."""

    def __init__(self, behaviour: Behaviour | None = None, *, faults: Faults | None = None, judge: Judge | None = None,
                 models: Sequence[str] | None = DEFAULT_MODELS, api_key: str | None = None, port: int = 0) -> None:
        self.judge = judge or Judge()
        self.behaviour = chain(self.judge, behaviour) if behaviour else self.judge
        self.faults, self.models, self.api_key, self.port = faults or Faults(), models, api_key, port
        self.calls: list[Call] = []
        self._by_key: dict[str, list[Call]] = {}
        self._in_flight = 0
        self._started = time.monotonic()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    async def start(self) -> MockLLM:
        app = web.Application(middlewares=[self._errors])
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/judge", self._judge)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._started = time.monotonic()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockLLM:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- answering --------------------------------------------------------------------------

    def answer(self, req: Request) -> Answer:
        """The behaviour's answer, or the default; pure, so drivers may call it to predict."""
        return as_answer(self.behaviour(req)) or default_behaviour(req)

    def render(self, req: Request, ans: Answer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The completion object and the stream chunks that reassemble to it."""
        cid = "chatcmpl-" + req.key[:24]
        content, finish = ("" if ans.content is None and not ans.tool_calls else ans.content), ans.finish_reason
        limit = req.params.get("max_completion_tokens") or req.params.get("max_tokens")
        if content is not None and limit and count_tokens(content) > limit:
            content, finish = content[: limit * 4], finish or "length"
        calls: list[dict[str, Any]] = [{"id": "call_" + digest(req.key, i)[:24], "type": "function",
                  "function": {"name": c.name, "arguments": c.arguments_text()}} for i, c in enumerate(ans.tool_calls)]
        finish = finish or ("tool_calls" if calls else "stop")
        message: dict[str, Any] = {"role": "assistant", "content": content}  # None only beside tool calls
        if calls:
            message["tool_calls"] = calls
        completion = count_tokens(content or "") + sum(count_tokens(c.name + c.arguments_text()) for c in ans.tool_calls)
        prompt = prompt_tokens({"messages": req.messages, "tools": req.params.get("tools")})
        usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        head = {"id": cid, "created": CREATED, "model": req.model, "system_fingerprint": "fp_mockllm"}
        full = {**head, "object": "chat.completion", "usage": usage,
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}]}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None if content is None else ""}]
        pieces = re.findall(r"\s*\S+\s*", content or "") or ([content] if content else [])
        deltas += [{"content": piece} for piece in pieces]  # word by word; they join back exactly
        for i, c in enumerate(calls):
            deltas.append({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                           "function": {"name": c["function"]["name"], "arguments": ""}}]})
            args = c["function"]["arguments"]
            deltas += [{"tool_calls": [{"index": i, "function": {"arguments": args[j:j + 16]}}]}
                       for j in range(0, len(args), 16)]
        chunk = {**head, "object": "chat.completion.chunk"}
        chunks = [{**chunk, "choices": [{"index": 0, "delta": d, "logprobs": None, "finish_reason": None}]} for d in deltas]
        chunks.append({**chunk, "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}]})
        if (req.params.get("stream_options") or {}).get("include_usage"):
            chunks.append({**chunk, "choices": [], "usage": usage})
        return full, chunks

    # -- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as e:
            return web.json_response(error_body(e.message, "invalid_request_error", e.code, e.param), status=e.status)
        except web.HTTPException as e:  # unknown path, wrong method, body too large
            if e.status < 400:
                raise
            return web.json_response(error_body(f"{e.reason}: {request.method} {request.path}", "invalid_request_error",
                                                str(e.status)), status=e.status)

    def _check_key(self, request: web.Request) -> None:
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            raise BadRequest("Incorrect API key provided (mock).", None, 401, "invalid_api_key")

    async def _body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.read())
        except ValueError as e:
            raise BadRequest(f"The body is not valid JSON: {e}", "body") from e

    def _record(self, path: str, key: str, model: str, status: int, *, streamed: bool = False, tokens: tuple[int, int] = (0, 0),
                retry_after: float | None = None, tags: tuple[str, ...] = (), error: str | None = None) -> Call:
        now = time.monotonic() - self._started
        same = self._by_key.setdefault(key, []) if key else []
        gap = max(0.0, now - same[-1].at - self.faults.latency) if same else None
        call = Call(seq=len(self.calls) + 1, path=path, key=key, model=model, at=now, status=status, nth=len(same),
                    duplicate=bool(same), after_success=any(c.status == 200 for c in same), gap=gap,
                    retry_after=retry_after, streamed=streamed, prompt_tokens=tokens[0], completion_tokens=tokens[1],
                    concurrent=self._in_flight, tags=tags, error=error)
        self.calls.append(call)
        if key:
            same.append(call)
        return call

    async def _fault(self, req: Request, path: str, streamed: bool) -> web.Response | None:
        """Decide (synchronously, on arrival) whether this call fails; record it if so."""
        nth, seq = len(self._by_key.get(req.key, [])), len(self.calls) + 1
        status = self.faults.status(req, nth, seq, self._in_flight)
        if status == 200:
            return None
        wait = self.faults.retry_after if status in (429, 503) else None
        self._record(path, req.key, req.model, status, streamed=streamed, retry_after=wait)
        type_, code, message = STATUS_TEXT.get(status, ("server_error", str(status), f"Mock error {status}."))
        headers = {}
        if wait is not None:
            headers = {"Retry-After": f"{wait:g}", "retry-after-ms": str(round(wait * 1000))}
        await asyncio.sleep(self.faults.latency)
        return web.json_response(error_body(message, type_, code), status=status, headers=headers)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        try:
            body: Any = None
            try:
                self._check_key(request)
                body = await self._body(request)
                validate(body)
                if self.models is not None and body["model"] not in self.models:
                    raise BadRequest(f"The model '{body['model']}' does not exist (mock serves {list(self.models)}).",
                                     "model", 404, "model_not_found")
            except BadRequest as e:
                model = body.get("model") if isinstance(body, dict) else None
                self._record("chat", "", model if isinstance(model, str) else "", e.status, error=e.message)
                raise
            params = {k: v for k, v in body.items() if k not in ("model", "messages")}
            keyed = {k: v for k, v in params.items() if k not in UNKEYED}
            req = Request(body["model"], body["messages"], params, digest("chat", body["model"], body["messages"], keyed))
            streamed = bool(body.get("stream"))
            if failed := await self._fault(req, "chat", streamed):
                return failed
            ans = self.answer(req)
            full, chunks = self.render(req, ans)
            usage = full["usage"]
            self._record("chat", req.key, req.model, 200, streamed=streamed, tags=ans.tags,
                         tokens=(usage["prompt_tokens"], usage["completion_tokens"]))
            await asyncio.sleep(self.faults.latency)
            if not streamed:
                return web.Response(body=json.dumps(full).encode(), content_type="application/json")
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
            await resp.prepare(request)
            for chunk in chunks:
                await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                if self.faults.chunk_delay:
                    await asyncio.sleep(self.faults.chunk_delay)
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        finally:
            self._in_flight -= 1

    async def _judge(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1
        try:
            try:
                self._check_key(request)
                body = await self._body(request)
                _need(isinstance(body, dict) and isinstance(body.get("answer"), str),
                      "The judge needs a JSON object with a string 'answer' (and 'question', 'reference').", "answer")
                for name in ("question", "reference"):
                    _need(body.get(name) is None or isinstance(body[name], str), f"'{name}' must be a string.", name)
            except BadRequest as e:
                self._record("judge", "", self.judge.model, e.status, error=e.message)
                raise
            fields = {k: body.get(k) for k in ("question", "answer", "reference")}
            req = Request(self.judge.model, [{"role": "user", "content": json.dumps(fields, sort_keys=True)}], {},
                          digest("judge", fields))
            if failed := await self._fault(req, "judge", False):
                return failed
            result = self.judge.grade(fields["question"] or "", fields["answer"], fields["reference"])
            self._record("judge", req.key, req.model, 200, tags=("judged",))
            await asyncio.sleep(self.faults.latency)
            return web.Response(body=json.dumps(result, sort_keys=True).encode(), content_type="application/json")
        finally:
            self._in_flight -= 1

    async def _models(self, request: web.Request) -> web.Response:
        names = list(self.models) if self.models is not None else list(DEFAULT_MODELS)
        cards = [{"id": n, "object": "model", "created": CREATED, "owned_by": "skillforge-mock"} for n in names]
        return web.json_response({"object": "list", "data": cards})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    # -- observations -----------------------------------------------------------------------

    def retries(self, tolerance: float = 0.9) -> list[dict[str, Any]]:
        """Every call that repeated a failed (429/5xx) identical call: how long it waited,
        what it was asked to wait, and whether it waited at least tolerance x that."""
        out = []
        for same in self._by_key.values():
            for before, call in zip(same, same[1:], strict=False):
                if before.status == 429 or before.status >= 500:
                    asked = before.retry_after
                    out.append({"seq": call.seq, "key": call.key, "after_status": before.status, "gap": call.gap,
                                "asked": asked, "honoured": asked is None or (call.gap or 0.0) >= tolerance * asked})
        return sorted(out, key=lambda r: r["seq"])

    def summary(self, tolerance: float = 0.9) -> dict[str, Any]:
        """Counts for a driver's observations: integers and booleans only (no timings),
        so reports stay byte-identical. retry_after_honoured / backoff_grows are None
        when there was nothing to judge."""
        retries = self.retries(tolerance)
        chains = [[r["gap"] for r in retries if r["key"] == k and r["asked"] is None] for k in self._by_key]
        chains = [c for c in chains if len(c) >= 2]
        tags: dict[str, int] = {}
        for c in self.calls:
            for t in c.tags:
                tags[t] = tags.get(t, 0) + 1
        ok = [c for c in self.calls if c.status == 200]
        return {
            "calls": len(self.calls),
            "ok": len(ok),
            "rate_limited": sum(c.status == 429 for c in self.calls),
            "server_errors": sum(c.status >= 500 for c in self.calls),
            "bad_requests": sum(400 <= c.status < 500 and c.status != 429 for c in self.calls),
            "unique_requests": len(self._by_key),
            "duplicates": sum(c.duplicate for c in self.calls),
            "cache_misses": sum(c.after_success for c in self.calls),
            "streamed": sum(c.streamed for c in self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in ok),
            "completion_tokens": sum(c.completion_tokens for c in ok),
            "max_concurrent": max((c.concurrent for c in self.calls), default=0),
            "retries": len(retries),
            "retries_early": sum(not r["honoured"] for r in retries),
            "retry_after_honoured": all(r["honoured"] for r in retries) if retries else None,
            "backoff_grows": all(b >= tolerance * a for c in chains for a, b in zip(c, c[1:], strict=False))
            if chains else None,
            "tags": dict(sorted(tags.items())),
        }

    def reset(self) -> None:
        """Forget the calls (between a driver's scenarios); faults count from zero again."""
        self.calls.clear()
        self._by_key.clear()

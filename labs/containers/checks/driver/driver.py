"""Trusted driver for the containers lab. Runs inside the sandbox as the driver user.

It starts the learner's service (`python3 server.py` in /work, PORT set) as the
learner's user, exactly as the image's CMD would, and talks to it over 127.0.0.1 with a
small HTTP client of its own, recording from its side only:

  predictions            the labels /predict returned for the hidden tickets below, in
                         order (matched on the host against checks/expected/, which
                         never enters the sandbox)
  bad_requests_rejected  of 6 malformed requests (not JSON, no "inputs", not strings,
                         empty, 33 inputs, a 70 KB body), how many got a 400, 413 or 422
  drain_readyz           the status of /readyz asked just after SIGTERM, while a request
                         is still in flight (0: no answer)
  drain_inflight         whether that in-flight request still completed, with the same
                         answer the service gave before
  sigterm_exit           the exit code after SIGTERM, or why there was none

The image itself (build, user, size, secrets, PID 1 and SIGTERM) is the host inspector's
part (graders/inspectors/container.py); this part also runs where only bubblewrap does.
Every observation is an integer, a boolean, a label or a fixed phrase, so the same
submission gets byte-identical reports run after run.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "/grader")  # -I drops PYTHONPATH; the harness sits next to this file

import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import sfharness as h  # noqa: E402

LEARNER_TIMEOUT = 40.0  # the whole life of the service; a correct one needs about 3 s
START_TIMEOUT = 15.0  # for the service to answer at all
READY_TIMEOUT = 5.0  # then for /readyz to say 200
EXIT_TIMEOUT = 10.0  # from SIGTERM (with one request in flight) to exit
REQUEST_TIMEOUT = 5.0
RESPONSE_CAP = 256 * 1024
REJECTED = (400, 413, 422)

# The hidden tickets (the public tests use others). Their labels live on the host only.
TICKETS = [
    "I was billed twice for the pro plan this month",
    "the export button crashes the whole page",
    "how can I reset the password for my account",
    "please add an option to schedule reports",
    "my receipt is missing the company address",
    "the editor freezes when I paste a large notebook",
    "I cannot log in since I changed my email",
    "would love a dark theme for the dashboard",
    "refund the annual fee, I cancelled in time",
    "error 502 every time I open the search page",
    "delete my profile and personal data please",
    "any plans for a jira integration",
    "the card payment failed but money left my account",
    "images are broken on the portfolio page",
    "two-factor codes are not accepted on login",
    "feature request: export grades as csv",
    "why is the invoice amount higher than the pricing page",
    "the lab runner keeps spinning and never finishes",
    "I want to transfer my account to a new email",
    "it would help to have keyboard shortcuts in the editor",
    "stop charging my credit card",
    "the api returns 500 for valid requests",
    "my account got locked after a password reset",
    "could you support single sign-on for our company",
]

BAD_REQUESTS = [
    ("not JSON", b'{"inputs": ["my invoice is wrong"'),
    ('no "inputs" field', b'{"text": "my invoice is wrong"}'),
    ("inputs that are not strings", b'{"inputs": [1, 2]}'),
    ("an empty list of inputs", b'{"inputs": []}'),
    ("33 inputs (the limit is 32)", json.dumps({"inputs": ["please add dark mode"] * 33}).encode()),
    ("a 70 KB body (the limit is 64 KiB)", json.dumps({"inputs": ["a" * 70_000]}).encode()),
]


# -- a small HTTP/1.1 client: we need to send half a request and finish it later --------

def request_head(method: str, path: str, length: int) -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status_line = await reader.readline()
    parts = status_line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return 0, b""
    status = int(parts[1])
    headers: dict[bytes, bytes] = {}
    for _ in range(100):
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = bytearray()
        while len(body) < RESPONSE_CAP:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            body += await reader.readexactly(min(size, RESPONSE_CAP))
            await reader.readline()
        return status, bytes(body)
    length = headers.get(b"content-length")
    if length is not None and length.isdigit():
        return status, await reader.readexactly(min(int(length), RESPONSE_CAP))
    return status, await reader.read(RESPONSE_CAP)


async def http(port: int, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """(status, body); status 0 when the service did not answer properly in time."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), REQUEST_TIMEOUT)
    except (OSError, TimeoutError):
        return 0, b""
    try:
        writer.write(request_head(method, path, len(body)) + body)
        await writer.drain()
        return await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
    except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
        return 0, b""
    finally:
        writer.close()


def labels_of(body: bytes, count: int) -> list[Any] | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    preds = doc.get("predictions") if isinstance(doc, dict) else None
    if not isinstance(preds, list) or len(preds) != count:
        return None
    return [p.get("label") if isinstance(p, dict) and isinstance(p.get("label"), str) else None for p in preds]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_pid() -> int | None:
    """The learner's process we started (its parent is us): where SIGTERM goes, as to PID 1."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and fields.get("Uid", "").split()[:1] == [str(h.LEARNER_UID)]:
            return int(entry)
    return None


# -- the scenario ----------------------------------------------------------------------------

async def wait_until_up(port: int, task: asyncio.Task[Any], notes: list[str]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and not task.done():
        status, _ = await http(port, "GET", "/healthz")
        if status:
            break
        await asyncio.sleep(0.1)
    else:
        notes.append("the service never answered on $PORT" if not task.done() else "the service exited at start")
        return False
    deadline = time.monotonic() + READY_TIMEOUT
    status = 0
    while time.monotonic() < deadline and not task.done():
        status, _ = await http(port, "GET", "/readyz")
        if status == 200:
            return True
        if status not in (0, 503):  # a definite answer (404: no such endpoint) will not change
            break
        await asyncio.sleep(0.1)
    notes.append(f"/readyz did not answer 200 after start-up (status {status or 'none'})")
    return True


async def drain(port: int, task: asyncio.Task[Any], answers: list[Any] | None, obs: dict[str, Any],
                notes: list[str]) -> None:
    """SIGTERM with one request half-sent; then ask /readyz, finish the request, wait for exit."""
    texts = TICKETS[:2]
    body = json.dumps({"inputs": texts}).encode()
    obs["drain_readyz"], obs["drain_inflight"] = 0, False
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        conn = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), REQUEST_TIMEOUT)
        conn[1].write(request_head("POST", "/predict", len(body)) + body[:10])
        await conn[1].drain()
    except (OSError, TimeoutError):
        notes.append("could not open a request before SIGTERM")
    await asyncio.sleep(0.5)  # time for the service to read the head and start the request
    pid = service_pid()
    if pid is None or task.done():
        obs["sigterm_exit"] = "exited before SIGTERM"
        notes.append("the service was not running when SIGTERM was due")
        return
    os.kill(pid, signal.SIGTERM)
    sent = time.monotonic()
    await asyncio.sleep(0.3)
    obs["drain_readyz"], _ = await http(port, "GET", "/readyz")
    notes.append(f"after SIGTERM, with one request in flight, /readyz answered {obs['drain_readyz'] or 'nothing'}")
    if conn is not None:
        reader, writer = conn
        try:
            writer.write(body[10:])
            await writer.drain()
            status, got = await asyncio.wait_for(read_response(reader), REQUEST_TIMEOUT)
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
            status, got = 0, b""
        finally:
            writer.close()
        same = answers is not None and labels_of(got, len(texts)) == answers[:2]
        obs["drain_inflight"] = status == 200 and same
        notes.append(f"the request in flight at SIGTERM ended with status {status or 'none (connection dropped)'}"
                     + ("" if status != 200 or same else ", but not with the answer given before"))
    try:
        run = await asyncio.wait_for(asyncio.shield(task), EXIT_TIMEOUT)
        obs["sigterm_exit"] = run.exit_code if run.exit_code is not None else f"ended by {run.termination}"
        notes.append(f"exited with code {run.exit_code} {time.monotonic() - sent:.1f} s after SIGTERM")
    except TimeoutError:
        obs["sigterm_exit"] = f"still running {EXIT_TIMEOUT:g} s after SIGTERM"
        notes.append(obs["sigterm_exit"])


async def grade() -> None:
    port = free_port()
    task = asyncio.create_task(h.run_learner(["python3", "server.py"], timeout=LEARNER_TIMEOUT,
                                             env={"PORT": str(port)}, output_cap=64 * 1024))
    obs: dict[str, Any] = {}
    notes: list[str] = []
    if await wait_until_up(port, task, notes):
        status, body = await http(port, "POST", "/predict", json.dumps({"inputs": TICKETS}).encode())
        answers = labels_of(body, len(TICKETS)) if status == 200 else None
        if answers is not None:
            obs["predictions"] = answers
        notes.append(f"POST /predict with {len(TICKETS)} tickets: status {status or 'none'}"
                     + ("" if answers is not None else ", no list of predictions with labels in the answer"))
        rejected = 0
        for what, bad in BAD_REQUESTS:
            status, _ = await http(port, "POST", "/predict", bad)
            rejected += status in REJECTED
            notes.append(f"{what}: status {status or 'none'}")
        obs["bad_requests_rejected"] = rejected
        await drain(port, task, answers, obs, notes)
    else:
        obs.update(bad_requests_rejected=0, drain_readyz=0, drain_inflight=False,
                   sigterm_exit="the service never came up")
    killed = not task.done()
    if killed:
        h.kill_learner_processes()
    run = await task
    if killed:  # our kill, not the learner's exit status
        run.exit_code = None
    run.stderr += ("\n[grader] " + "\n[grader] ".join(notes)).encode()
    h.emit(obs, run)


def main() -> None:
    h.prepare_workspace()
    asyncio.run(grade())


if __name__ == "__main__":
    main()

"""Runs INSIDE the learner's process, as the learner's user: call fetch_all per scenario.

The driver reads this file from /grader (which the learner's user cannot read) and
starts it with `python3 -I -c <this source>`, the scenarios as JSON on stdin. Nothing
it reports is trusted for a verdict: the driver compares the results it sends with the
bodies the server served (random per-run tokens), and takes every timing, count and
connection from its own server.

After each fetch_all returns, the runner tells the driver "done" over a plain TCP
control socket and then BLOCKS (the event loop does not turn) until the driver has
counted the connections still open on its server. A session closed with `await
session.close()` / `async with` has closed its sockets by then; a session left open,
even one already garbage collected, has only scheduled the close on a loop that is not
running, so its sockets are still open when the driver looks.
"""

import asyncio
import json
import socket
import sys
import traceback

MAX_TEXT = 20_000  # characters of a body or error kept; the driver's bodies are far shorter


def _field(result, name):
    value = getattr(result, name, None)
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int) or value is None:
        return value
    if isinstance(value, str):
        return value[:MAX_TEXT]
    return repr(value)[:200]


def _encode(results):
    if not isinstance(results, (list, tuple)):
        return None, f"fetch_all returned {type(results).__name__}, not a list"
    return [{k: _field(r, k) for k in ("url", "status", "body", "error")} for r in results], None


def _report(control, doc):
    """Send one JSON line to the driver and wait, blocking, for its go-ahead."""
    control.sendall(json.dumps(doc, default=repr).encode() + b"\n")
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = control.recv(64)
        if not chunk:
            raise SystemExit("the grader closed the control channel")
        reply += chunk


async def _main(control, scenarios):
    sys.path.insert(0, "/work")
    try:
        import fetcher
    except BaseException:
        traceback.print_exc()
        _report(control, {"event": "import_error", "error": traceback.format_exc(limit=3)[-1500:]})
        return 1
    status = 0
    for scenario in scenarios:
        doc = {"event": "done", "scenario": scenario["name"]}
        try:
            results = await fetcher.fetch_all(
                list(scenario["urls"]),
                concurrency=scenario["concurrency"],
                timeout=scenario["timeout"],
                retries=scenario["retries"],
                backoff=scenario["backoff"],
            )
            doc["results"], doc["error"] = _encode(results)
            status = status or (1 if doc["error"] else 0)
        except BaseException as exc:  # a learner's bug, SystemExit and cancellation included
            traceback.print_exc()
            doc["results"], doc["error"] = None, f"fetch_all raised {type(exc).__name__}: {exc}"[:1500]
            status = 1
        _report(control, doc)  # blocks: the loop stays still while the driver counts connections
    return status


def main():
    config = json.loads(sys.stdin.read())
    control = socket.create_connection(("127.0.0.1", config["control_port"]), timeout=30)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    status = loop.run_until_complete(_main(control, config["scenarios"]))
    control.close()
    sys.exit(status)  # non-zero when fetcher.py failed to import or fetch_all raised


main()

"""Runs INSIDE the learner's process, as the learner's user: call the learner's registry
and eval harness functions with the driver's work, and send back what they returned.

The driver reads this file from /grader (which the learner's user cannot read) and runs
it with `python3 -I -c <this source>`, the work as JSON on stdin; results go back over a
TCP control socket, one JSON object a line, so the learner's prints cannot mix with them.
Nothing it reports is trusted for a verdict: the driver checks registry answers against
content hashes it computes itself, the host compares reported scores with the true
ones, and the mock LLM (in the driver) counts every call the harness made.

The learner's API is looked up in one place, load_api(): the names below, from the
modules registry.py and evalharness.py in /work. A notebook submission can be observed
by the same driver by loading these names from the notebook's namespace instead.
"""

import json
import math
import socket
import sys
import traceback

API = {
    "register": ("registry", "register"),
    "get": ("registry", "get"),
    "versions": ("registry", "versions"),
    "diff": ("registry", "diff"),
    "evaluate": ("evalharness", "evaluate"),
}
MAX_TEXT = 20_000
_noted = set()


def load_api():
    import importlib

    sys.path.insert(0, "/work")
    api = {}
    for name, (module, attr) in API.items():
        api[name] = getattr(importlib.import_module(module), attr, None)
    return api


def plain(value, depth=0):
    """A JSON-safe copy of what the learner's code returned (capped, never trusted)."""
    if depth > 6:
        return repr(value)[:200]
    if value is None or isinstance(value, bool | int | str):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, dict):
        return {str(k)[:200]: plain(v, depth + 1) for k, v in list(value.items())[:200]}
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in list(value)[:200]]
    return repr(value)[:200]


def call(api, name, *args, **kwargs):
    fn = api.get(name)
    if not callable(fn):
        return None, f"{name} is not defined"
    try:
        return plain(fn(*args, **kwargs)), None
    except BaseException as exc:  # a learner's bug, SystemExit included
        if name not in _noted:  # one traceback per function is enough
            _noted.add(name)
            traceback.print_exc()
        return None, f"{name} raised {type(exc).__name__}: {exc}"[:500]


def run_op(api, op):
    root, name = op["root"], op["name"]
    if op["op"] == "register":
        return call(api, "register", root, name, op["content"], bump=op["bump"])
    if op["op"] == "get":
        return call(api, "get", root, name, op["ref"])
    if op["op"] == "versions":
        return call(api, "versions", root, name)
    return call(api, "diff", root, name, op["old"], op["new"])


def main():
    config = json.loads(sys.stdin.read())
    control = socket.create_connection(("127.0.0.1", config["control_port"]), timeout=30)

    def report(doc):
        control.sendall(json.dumps(doc, allow_nan=False).encode() + b"\n")

    try:
        api = load_api()
    except BaseException:
        traceback.print_exc()
        report({"event": "import_error", "error": traceback.format_exc(limit=3)[-1500:]})
        sys.exit(1)
    failed = False
    for i, op in enumerate(config["registry_ops"]):
        result, error = run_op(api, op)
        failed = failed or error is not None
        report({"event": "op", "i": i, "result": result, "error": error})
    for i, ev in enumerate(config["evaluations"]):
        scores, error = call(api, "evaluate", ev["prompt"], config["cases"], base_url=config["base_url"],
                             model=config["model"], cache_dir=config["cache_dir"],
                             max_retries=config["max_retries"], backoff=config["backoff"])
        failed = failed or error is not None
        report({"event": "eval", "i": i, "scores": scores, "error": error})
    control.close()
    sys.exit(1 if failed else 0)  # non-zero when one of the learner's functions raised


main()

"""Runs INSIDE the learner's process, as the learner's user, around retriever.py.

The driver reads this file from /grader (which the learner's user cannot read) and starts
it with `python3 -I -c <this source>`, its settings as JSON on stdin. It speaks JSON lines
with the driver over a TCP control socket, one request and one answer at a time:

    runner -> {"event": "loaded"}                 corpus and embeddings read
    driver -> {"op": "build"}                     the driver starts its build clock
    runner -> {"event": "built"} | {"event": "error", ...}
    driver -> {"op": "search", "n": 7, "query": "..."}   its latency clock, per query
    runner -> {"n": 7, "ids": [...]} | {"n": 7, "ids": null, "error": "..."}
    driver -> {"op": "bye"}

Reading the data files is not timed; importing retriever.py and constructing Retriever
is. The driver keeps every clock and never learns a verdict from here: the ids are scored
on the host against labels that never enter the sandbox.
"""

import gzip
import json
import socket
import sys
import traceback

MAX_IDS = 50  # the driver uses the first 10; more than that is the learner's bug, not a flood
MAX_ID_CHARS = 64


def _send(control, doc):
    control.sendall(json.dumps(doc).encode() + b"\n")


def _lines(control):
    buf = b""
    while True:
        chunk = control.recv(65536)
        if not chunk:
            return
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield json.loads(line)


def _clean(ids):
    """The learner's answer as plain data: a list of strings (or a note on what it was)."""
    if not isinstance(ids, (list, tuple)):
        return None, f"search() returned {type(ids).__name__}, not a list of passage ids"
    out = []
    for item in list(ids)[:MAX_IDS]:
        if not isinstance(item, str):
            return None, f"search() returned a list holding {type(item).__name__}, not only strings"
        out.append(item[:MAX_ID_CHARS])
    return out, None


def main():
    config = json.loads(sys.stdin.read())
    control = socket.create_connection(("127.0.0.1", config["control_port"]), timeout=None)
    data = config["data_dir"]
    sys.path.insert(0, config["lib_dir"])  # the provided minilm.py, ahead of any copy in /work
    sys.path.insert(1, "/work")
    import numpy as np

    with gzip.open(f"{data}/corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        passages = [json.loads(line) for line in fh]
    embeddings = np.load(f"{data}/passage_embeddings.npy", allow_pickle=False).astype(np.float32)
    embeddings.setflags(write=False)
    _send(control, {"event": "loaded", "passages": len(passages)})

    retriever = None
    failed_once = False
    for msg in _lines(control):
        op = msg.get("op")
        if op == "build":
            try:
                import retriever as module

                retriever = module.Retriever(passages, embeddings)
            except BaseException:
                traceback.print_exc()
                _send(control, {"event": "error", "error": traceback.format_exc(limit=4)[-1500:]})
                return 1
            _send(control, {"event": "built"})
        elif op == "search":
            try:
                ids, problem = _clean(retriever.search(msg["query"], k=10))
            except Exception as exc:
                ids, problem = None, f"search() raised {type(exc).__name__}: {str(exc)[:300]}"
                if not failed_once:  # one traceback is enough to debug; 128 would bury it
                    traceback.print_exc()
                    failed_once = True
            _send(control, {"n": msg["n"], "ids": ids, **({"error": problem} if problem else {})})
        else:
            return 0
    return 0


sys.exit(main())

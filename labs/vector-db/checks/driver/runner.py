"""The serving loop, run INSIDE the learner's process as the learner's user.

The driver reads this file from /grader (which the learner's user cannot read) and runs
it with `python3 -I -c <this source>`, its settings as JSON on stdin. It imports the
learner's vectorstore.py from /work and then:

  mode "build": loads the dataset the driver wrote (vectors.npy, ids.npy, metadata.json),
                builds VectorStore(dim, num_shards) and add()s every row;
  mode "load":  VectorStore.load(index folder), in a fresh process;

then reports "ready" and answers the driver's requests ONE AT A TIME over a Unix socket
(the driver sends the next query only after it has the answer to the last), so the
driver can time each query from its own side and nothing can be batched.

  mode "batch": imports the learner's batch.py instead, loads the batch vectors and
                queries the driver wrote, calls search_batch(vectors, queries, k) once,
                and sends the device it names (a text frame), then one answer per query.

Frames. Request: <B op> <b shard> <H k> <I payload bytes>, then the payload (the query as
float32 bytes, then for a filtered search the filter as JSON). Answer: <i n>, then n
int64 ids best first; n = -1 means the call failed, followed by <I length> and a message;
n = -2 is a short text (the batch's device), followed by <I length> and the text.

Nothing this process says is trusted for a verdict: the driver scores the ids it gets
against the exact answers it computed itself.
"""

import json
import os
import socket
import struct
import sys
import time
import traceback

import numpy as np

SEARCH, EXACT, SHARD_EXACT, FILTERED, SAVE, BYE = 1, 2, 3, 4, 5, 6
REQUEST = struct.Struct("<BbHI")
MAX_HITS = 1000
_errors = set()


def _note(where):
    if where not in _errors:  # one traceback per kind of call is enough
        _errors.add(where)
        traceback.print_exc()


class Channel:
    """Length-prefixed frames over the driver's Unix socket, with as few copies as we can."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = bytearray(1 << 16)
        self.view = memoryview(self.buf)

    def _fill(self, got, n):
        while got < n:
            r = self.sock.recv_into(self.view[got:n])
            if not r:
                raise ConnectionError("the grader closed the connection")
            got += r
        return got

    def request(self):
        got = self._fill(0, REQUEST.size)
        op, shard, k, size = REQUEST.unpack_from(self.buf)
        end = REQUEST.size + size
        if end > len(self.buf):
            raise ConnectionError("request too large")
        self._fill(got, end)
        return op, shard, k, self.view[REQUEST.size:end]

    def ids(self, ids):
        self.sock.sendall(struct.pack(f"<i{len(ids)}q", len(ids), *ids))

    def error(self, message):
        data = message.encode("utf-8", "replace")[:2000]
        self.sock.sendall(struct.pack("<iI", -1, len(data)) + data)

    def text(self, message):
        data = message.encode("utf-8", "replace")[:200]
        self.sock.sendall(struct.pack("<iI", -2, len(data)) + data)


def _ids(hits):
    """The ids of the hits ((id, score) pairs, best first), as the grader reads them."""
    return [int(hit[0]) for hit in list(hits)[:MAX_HITS]]


def run_batch(config, channel):
    """One call of the learner's search_batch; its rows go back one query per frame."""
    try:
        started = time.monotonic()
        import batch

        vectors = np.load(os.path.join(config["batch_dir"], "vectors.npy"))
        queries = np.load(os.path.join(config["batch_dir"], "queries.npy"))
        rows, device = batch.search_batch(vectors, queries, config["k"])
        rows = np.asarray(rows)
        print(f"[runner] search_batch of {len(queries)} queries took {time.monotonic() - started:.1f} s on "
              f"{str(device)[:40]!r}", file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        channel.error("search_batch failed: " + traceback.format_exc(limit=3)[-1500:])
        sys.exit(1)
    channel.text(str(device))
    for i in range(len(queries)):
        channel.ids(_ids((int(r), 0.0) for r in np.ravel(rows[i])) if i < len(rows) else [])


def main():
    config = json.loads(sys.stdin.read())
    channel = Channel(config["socket"])

    sys.path.insert(0, "/work")
    if config["mode"] == "batch":
        run_batch(config, channel)
        return
    try:
        started = time.monotonic()
        import vectorstore

        if config["mode"] == "build":
            data = config["data_dir"]
            vectors = np.load(os.path.join(data, "vectors.npy"))
            ids = np.load(os.path.join(data, "ids.npy"))
            with open(os.path.join(data, "metadata.json"), encoding="utf-8") as fh:
                columns = json.load(fh)
            fields = list(columns)
            metadata = [dict(zip(fields, values, strict=True)) for values in zip(*(columns[f] for f in fields), strict=True)]
            del columns
            started = time.monotonic()
            store = vectorstore.VectorStore(dim=config["dim"], num_shards=config["num_shards"])
            store.add(ids, vectors, metadata)
            del vectors, ids, metadata
        else:
            store = vectorstore.VectorStore.load(config["index_dir"])
        print(f"[runner] {config['mode']} took {time.monotonic() - started:.1f} s", file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        channel.error(f"{config['mode']} failed: " + traceback.format_exc(limit=3)[-1500:])
        sys.exit(1)
    channel.ids([])  # ready

    dim = config["dim"]
    while True:
        try:
            op, shard, k, payload = channel.request()
        except ConnectionError:
            return
        if op == BYE:
            return
        try:
            if op == SAVE:
                store.save(bytes(payload).decode("utf-8"))
                channel.ids([])
                continue
            query = np.frombuffer(payload, dtype="<f4", count=dim).copy()
            if op == SEARCH:
                hits = store.search(query, k)
            elif op == EXACT:
                hits = store.search(query, k, exact=True)
            elif op == SHARD_EXACT:
                hits = store.shards[shard].search(query, k, exact=True)
            elif op == FILTERED:
                hits = store.search(query, k, filter=json.loads(bytes(payload[4 * dim:])))
            else:
                raise ValueError(f"unknown request {op}")
            channel.ids(_ids(hits))
        except Exception as exc:
            _note(op)
            channel.error(f"{type(exc).__name__}: {exc}"[:500])

main()

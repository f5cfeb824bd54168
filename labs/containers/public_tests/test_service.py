"""The service's HTTP contract, checked against server.py run as a child process."""

from __future__ import annotations

import json
import socket
import time

from conftest import head, read_response

PUBLIC_TICKETS = [
    "you charged my card twice this month",
    "the notebook view shows a blank page",
    "I forgot the password for my login",
    "please add webhooks for new submissions",
]


def test_health_and_readiness(service):
    assert service.request("GET", "/healthz")[0] == 200
    assert service.request("GET", "/readyz")[0] == 200, "GET /readyz must answer 200 once the model is loaded"


def test_predicts_a_batch(service, model):
    status, doc = service.post("/predict", {"inputs": PUBLIC_TICKETS})
    assert status == 200
    got = [p["label"] for p in doc["predictions"]]
    assert got == [p["label"] for p in model.predict(PUBLIC_TICKETS)]


def test_rejects_malformed_requests(service):
    bad = {
        "not JSON": b'{"inputs": [',
        "no inputs": b'{"text": "hello"}',
        "not strings": b'{"inputs": [1, 2]}',
        "empty": b'{"inputs": []}',
        "too many": json.dumps({"inputs": ["hi"] * 33}).encode(),
        "too large": json.dumps({"inputs": ["b" * 70_000]}).encode(),
    }
    statuses = {name: service.request("POST", "/predict", body)[0] for name, body in bad.items()}
    assert all(s in (400, 413, 422) for s in statuses.values()), statuses
    assert service.request("GET", "/healthz")[0] == 200, "the service must survive bad requests"


def test_drains_on_sigterm(service, model):
    texts = PUBLIC_TICKETS[:2]
    body = json.dumps({"inputs": texts}).encode()
    sock = socket.create_connection(("127.0.0.1", service.port), timeout=10)
    sock.sendall(head("POST", "/predict", len(body)) + body[:10])  # a request in flight
    time.sleep(0.5)
    service.terminate()
    time.sleep(0.3)
    assert service.request("GET", "/readyz", timeout=3)[0] == 503, "after SIGTERM, /readyz must answer 503 at once"
    sock.sendall(body[10:])
    status, answer = read_response(sock)
    sock.close()
    assert status == 200, "the request in flight at SIGTERM must still be answered"
    assert [p["label"] for p in json.loads(answer)["predictions"]] == [p["label"] for p in model.predict(texts)]
    assert service.proc.wait(10) == 0, "after draining, exit with status 0"

"""The ticket-router inference service: works on a laptop, not yet in production.

    GET  /healthz   200 while the process is alive
    POST /predict   {"inputs": ["text", ...]} -> {"model": ..., "predictions": [{"label", "score"}]}

TODO (see the brief for the exact contract):
- GET /readyz: 200 once the model is loaded and until shutdown starts, else 503;
- validate input: 400 (JSON error) for a body that is not JSON, no "inputs", inputs
  that are not strings, an empty list or more than 32 of them; 413 over 64 KiB;
- serve requests concurrently (this server handles one at a time);
- on SIGTERM: answer /readyz with 503 at once, finish the requests in flight, then exit 0
  (within 5 s when idle). Python's default is to die on the spot; as PID 1 in a
  container it ignores SIGTERM altogether, until Docker or the kubelet sends SIGKILL.
"""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from model import TicketRouter

MODEL = TicketRouter.load(Path(__file__).with_name("model.json"))


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.send_json(200, {"status": "ok"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self.send_json(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        doc = json.loads(self.rfile.read(length))
        self.send_json(200, {"model": MODEL.version, "predictions": MODEL.predict(doc["inputs"])})


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"serving {MODEL.version} on port {port}", flush=True)
    HTTPServer(("0.0.0.0", port), Handler).serve_forever()  # noqa: S104

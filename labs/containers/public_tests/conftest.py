"""Helpers for the public tests: find your submission, run server.py, talk HTTP to it.

Run from the folder that holds server.py, Dockerfile and k8s/:

    python -m pytest public_tests -q

(or set SUBMISSION_DIR=/path/to/folder). The service tests start `python server.py`
with PORT set, exactly as the grader does; the Dockerfile and manifest tests read your
files as data. The grader itself also builds and runs your image with Docker, which
these tests do not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

_here = Path(__file__).resolve().parent
for folder in (os.environ.get("SUBMISSION_DIR"), os.getcwd(), str(_here.parent)):
    if folder and (Path(folder) / "server.py").is_file():
        ROOT = Path(folder).resolve()
        break
else:
    pytest.exit("server.py not found: run pytest from your submission folder, or set SUBMISSION_DIR", returncode=4)

sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def head(method: str, path: str, length: int) -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """(status, body) from a Connection: close response; (0, b"") if the server hung up."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    top, _, body = data.partition(b"\r\n\r\n")
    parts = top.split(b"\r\n", 1)[0].split()
    if len(parts) < 2 or not parts[1].isdigit():
        return 0, b""
    return int(parts[1]), body


class Service:
    """server.py running in a child process, as the grader runs it."""

    def __init__(self) -> None:
        self.port = free_port()
        env = {**os.environ, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "server.py"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def request(self, method: str, path: str, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(head(method, path, len(body)) + body)
                return read_response(sock)
        except OSError:
            return 0, b""

    def post(self, path: str, doc) -> tuple[int, dict]:
        status, body = self.request("POST", path, json.dumps(doc).encode())
        try:
            return status, json.loads(body)
        except ValueError:
            return status, {}

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server.py exited at start:\n{self.output()}")
            if self.request("GET", "/healthz", timeout=1)[0]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("server.py never answered GET /healthz on $PORT")
        while time.monotonic() < deadline and self.request("GET", "/readyz", timeout=1)[0] == 503:
            time.sleep(0.1)

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def output(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stdout.read().decode("utf-8", "replace")[-3000:] if self.proc.stdout else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)


@pytest.fixture
def service():
    s = Service()
    try:
        s.wait_ready()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def model():
    from model import TicketRouter

    return TicketRouter.load(ROOT / "model.json")

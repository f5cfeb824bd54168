"""Read what belongs to the host, the driver or the graders, and hunt the whole filesystem
for canary text (the hidden answer, the worker's secrets, files planted on the host)."""

import glob
import json
import os

MARK = ("SF" + "CANARY").encode()  # never written out whole here, so this file is no hit
# The image's own read-only trees, rebuilt from Debian and PyPI: no host or grader data can be there,
# and reading all of them (hundreds of MB of wheels) would outlast the time limit.
SKIP = {"/proc", "/sys", "/dev", "/usr/lib", "/usr/share", "/usr/local/lib"}
r = {"read": [], "denied": {}, "found": [], "host_paths_seen": []}


def attempt(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError as exc:
        r["denied"][path] = type(exc).__name__
        return
    r["read"].append(path)
    if MARK in data:
        r["found"].append(path)


NAMED = [
    "/proc/1/environ", "/proc/1/cmdline", "/proc/1/root/etc/hostname", "/proc/1/mem",
    "/proc/self/root/grader/driver.py", "/proc/kcore", "/proc/sysrq-trigger",
    "/grader/driver.py", "/grader/sfharness.py", "/out/observations.json",
    "/etc/shadow", "/root/.bash_history", "/root/.docker/config.json",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
]
targets = list(NAMED)
targets += glob.glob("/tmp/sf-security-canary*/*") + glob.glob("/var/tmp/sf-security-canary*")
targets += glob.glob("/dev/shm/sf-security-canary*")
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        targets += [f"/proc/{pid}/environ", f"/proc/{pid}/cwd/driver.py", f"/proc/{pid}/root/grader/driver.py"]
# The host paths behind our mounts are visible in mountinfo; try to open them here.
for line in open("/proc/self/mountinfo"):
    root = line.split()[3]
    if root not in ("/", "") and not root.startswith("/docker"):
        r["host_paths_seen"].append(root)
        targets += [root, os.path.join(root, "driver.py"), os.path.join(root, "observations.json")]
for path in targets:
    attempt(path)
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in SKIP]
    for name in files:
        path = os.path.join(top, name)
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < (1 << 20):
            attempt(path)
# Report only what matters (the log keeps 4000 characters): secrets that were readable,
# and how the named targets and the host's staging folders were refused.
SECRET = ("/proc/1/environ", "/proc/1/root", "/proc/1/mem", "/grader", "/out", "/etc/shadow", "/root", "/tmp/sf-security")
r["read"] = [p for p in r["read"] if p.startswith(SECRET) or p.endswith(("/environ", "/driver.py"))]
named = set(NAMED) | {p for p in r["host_paths_seen"] if "/sf-run-" in p}
r["denied"] = {p: e for p, e in r["denied"].items() if p in named}
print("SFPROBE", json.dumps(r, sort_keys=True))

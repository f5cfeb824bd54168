"""Unshare a user namespace to become 'root' inside it, then mount things there."""

import json
import subprocess

r = {}
for name, cmd in [("unshare -U -r id -u", ["unshare", "-U", "-r", "id", "-u"]),
                  ("unshare -U -r -m mount tmpfs",
                   ["unshare", "-U", "-r", "-m", "sh", "-c", "mount -t tmpfs none /work && echo mounted"]),
                  ("unshare -U -r -n ip link", ["unshare", "-U", "-r", "-n", "true"])]:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=2, check=False)
    r[name] = [p.returncode, p.stdout.strip()[:80], p.stderr.strip()[:120]]
print("SFPROBE", json.dumps(r, sort_keys=True))

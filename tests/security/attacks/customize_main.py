"""Submitted beside sitecustomize.py, usercustomize.py, conftest.py, a pytest plugin, a .pth
file and modules named like the driver's (sfharness, asyncio, json): none may run in the
driver. Then plant the same hooks where a later Python would find them (the user site
under HOME=/tmp, shared with the driver) and show that they are live for a Python that
does not run isolated, which is why the driver must (and does) run with -I."""

import glob
import json
import os
import subprocess
import sys

before = sorted(glob.glob("/tmp/sf-imported-*"))
site = "/tmp/.local/lib/python{}.{}/site-packages".format(*sys.version_info[:2])
os.makedirs(site, exist_ok=True)
hook = "import os; open('/tmp/sf-imported-{name}-%d' % os.getuid(), 'w').close()\n"
for name in ("usercustomize", "sitecustomize", "sfharness", "json", "asyncio"):
    with open(os.path.join(site, name + ".py"), "w") as fh:
        fh.write(hook.format(name=name))
with open(os.path.join(site, "zz-hook.pth"), "w") as fh:
    fh.write(hook.format(name="pth").replace("\n", "") + "\n")
subprocess.run([sys.executable, "-c", "pass"], cwd="/work", check=False)
after = sorted(glob.glob("/tmp/sf-imported-*"))
print("SFPROBE", json.dumps({"before": before, "after_plain_python": after}))

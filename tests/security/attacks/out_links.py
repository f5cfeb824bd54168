"""Make the driver's result file a link to a host file, or plant one it would write through."""

import json
import os

r = {}


def step(name, fn):
    try:
        fn()
        r[name] = "ok"
    except OSError as exc:
        r[name] = type(exc).__name__


step("symlink_out", lambda: os.symlink("/etc/passwd", "/out/observations.json"))
step("symlink_out_tmp", lambda: os.symlink("/etc/shadow", "/out/observations.json.tmp"))
step("hardlink_out", lambda: os.link("/etc/passwd", "/out/observations.json"))
step("fifo_out", lambda: os.mkfifo("/out/observations.json"))
step("write_out", lambda: open("/out/observations.json", "w").write("{}"))
step("list_out", lambda: os.listdir("/out"))
step("hardlink_grader_into_work", lambda: os.link("/grader/sfharness.py", "/work/harness-link"))
step("hardlink_submission_into_work", lambda: os.link("/submission/main.py", "/work/main-link"))
step("hardlink_etc_into_tmp", lambda: os.link("/etc/passwd", "/tmp/passwd-link"))
step("symlink_grader_into_work", lambda: os.symlink("/grader/driver.py", "/work/driver-link"))
step("read_through_symlink", lambda: open("/work/driver-link").read())
print("SFPROBE", json.dumps(r, sort_keys=True))

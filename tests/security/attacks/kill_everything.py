"""kill -9 -1: every process we may signal (which must be only our own)."""

import json
import os
import signal
import time

children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    children.append(pid)
os.kill(-1, signal.SIGKILL)  # on Linux, everything we may signal except ourselves
killed = [os.WEXITSTATUS(s) if os.WIFEXITED(s) else -os.WTERMSIG(s) for s in (os.waitpid(c, 0)[1] for c in children)]
print("SFPROBE", json.dumps({"children": killed, "driver_alive": os.path.exists(f"/proc/{os.getppid()}")}))

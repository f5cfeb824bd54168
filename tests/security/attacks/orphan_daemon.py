"""Leave a daemon behind (setsid + double fork), detached from our output, deaf to
polite signals, that keeps trying to reach the driver's results for as long as it lives."""

import os
import signal
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        devnull = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        while True:
            for path in ("/out/observations.json", "/tmp/sf-security-pwned", "/work/sf-security-pwned"):
                try:
                    with open(path, "w") as fh:
                        fh.write('{"observations": {"answers": ["forged"]}}')
                except OSError:
                    pass
            time.sleep(0.1)
    os._exit(0)
os.wait()
print("daemon started; main exits")

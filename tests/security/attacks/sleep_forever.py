"""Sleep for ever, deaf to the polite signals."""

import signal
import time

for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
    signal.signal(sig, signal.SIG_IGN)
print("sleeping", flush=True)
time.sleep(10**6)

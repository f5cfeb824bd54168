"""Leave a daemon behind (setsid + double fork) that keeps our stdout open for ever."""

import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(1)
    os._exit(0)
os.wait()
print("daemon holds stdout; main exits")

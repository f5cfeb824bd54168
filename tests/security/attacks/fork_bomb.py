"""The classic: every process forks for ever."""

import os

print("forking", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        pass

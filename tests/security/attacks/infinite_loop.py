"""Spin for ever."""

print("spinning", flush=True)
while True:
    pass

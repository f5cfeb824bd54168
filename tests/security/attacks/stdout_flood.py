"""A gigabyte of output."""

import sys

chunk = b"A" * (1 << 20)
for _ in range(1024):
    sys.stdout.buffer.write(chunk)
print("SFCANARY-answer-guess")

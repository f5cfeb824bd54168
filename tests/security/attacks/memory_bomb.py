"""Allocate (and touch) a gigabyte, 16 MiB at a time."""

blocks = []
for _ in range(64):
    block = bytearray(16 << 20)
    block[::4096] = b"x" * len(block[::4096])
    blocks.append(block)
print("survived with", len(blocks) * 16, "MiB")

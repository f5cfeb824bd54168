"""NUL bytes in what we print (PostgreSQL text and jsonb cannot hold U+0000)."""

print("\0hello\0")
print("bye\0")

"""A small seccomp filter for the bubblewrap backend: no new user namespaces.

Docker's default profile already refuses these; bubblewrap installs no filter of its
own, and inside a fresh user namespace a process holds every capability over what that
namespace owns (mounts, for one). The program is classic BPF written out by hand: the
few instructions are easier to audit than a binding to libseccomp would be to ship.
"""

from __future__ import annotations

import errno
import os
import platform
import struct

# seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
NR, ARCH, ARG0_LOW = 0, 4, 16 if struct.pack("=I", 1)[0] == 1 else 20

LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ, JGE, JSET = 0x15, 0x35, 0x45  # BPF_JMP | BPF_{JEQ,JGE,JSET} | BPF_K
RET = 0x06  # BPF_RET | BPF_K
ALLOW = 0x7FFF0000
CLONE_NEWUSER = 0x10000000
X32_BIT = 0x40000000

# machine -> (AUDIT_ARCH_*, unshare, clone, clone3)
ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}


def _errno(code: int) -> int:
    return 0x00050000 | code  # SECCOMP_RET_ERRNO


def program(machine: str | None = None) -> bytes:
    """The filter for this machine. Any other ABI (i386, x32) is refused outright,
    since syscall numbers there differ and would slip past the checks."""
    arch, unshare, clone, clone3 = ARCHES[machine or platform.machine()]
    insns = [
        (LD_ABS, 0, 0, ARCH),  # 0
        (JEQ, 0, 10, arch),  # 1: foreign ABI -> 12 (deny)
        (LD_ABS, 0, 0, NR),  # 2
        (JGE, 8, 0, X32_BIT),  # 3: x32 -> 12 (deny)
        (JEQ, 3, 0, unshare),  # 4 -> 8 (check flags)
        (JEQ, 2, 0, clone),  # 5 -> 8 (check flags)
        (JEQ, 4, 0, clone3),  # 6 -> 11 (ENOSYS: libc falls back to clone, whose flags we can read)
        (RET, 0, 0, ALLOW),  # 7
        (LD_ABS, 0, 0, ARG0_LOW),  # 8: flags
        (JSET, 2, 0, CLONE_NEWUSER),  # 9 -> 12 (deny)
        (RET, 0, 0, ALLOW),  # 10
        (RET, 0, 0, _errno(errno.ENOSYS)),  # 11
        (RET, 0, 0, _errno(errno.EPERM)),  # 12
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in insns)


def supported() -> bool:
    return platform.machine() in ARCHES


def pipe_with_program() -> int:
    """A readable fd holding the program, for `bwrap --seccomp FD` (pass it to the child)."""
    data = program()
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)  # a few hundred bytes: fits in the pipe buffer
    os.close(write_fd)
    return read_fd

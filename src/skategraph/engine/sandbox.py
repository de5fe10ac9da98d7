"""A query worker that cannot open a network socket: the engine's SERVICE and LOAD then reach nothing.

Oxigraph fetches `SERVICE <url>` and `LOAD <url>` itself, and pyoxigraph gives Python no say in it: no
service handler, and no access to its parse or algebra (pyoxigraph 0.5.13; its `sparql_evaluator_from_
python` never sets a handler). The text check (`skategraph.sparql.text.check_outbound`) reads the query
before the engine does, and a second reading can always differ from the engine's. So when nothing is
allowed out (no `--allow-service`, the default), a worker installs a seccomp filter before it opens
the store: `socket()` for any family but AF_UNIX fails with EACCES. Whatever the engine parsed, its
HTTP client cannot connect anywhere. The filter is Linux's (x86-64 and AArch64); elsewhere the worker
says so in the log and only the text check stands.

The program, in classic BPF over `struct seccomp_data` (nr at 0, arch at 4, args from 16):
    load arch;   if not this machine's arch -> deny (an x32 or i386 call is not ours)
    load nr;     if nr >= 0x40000000 (x32) -> deny; if nr is io_uring_setup -> deny
                 if nr is not socket -> allow
    load args[0] (the family, low word); if AF_UNIX -> allow; otherwise deny with EACCES
"""

from __future__ import annotations

import ctypes
import errno
import logging
import platform
import struct

log = logging.getLogger("skategraph.workers")

# (audit arch, socket, io_uring_setup) by machine, from the kernel's audit.h and unistd tables.
_MACHINES = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_AF_UNIX = 1
# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06


def _program(arch: int, socket_nr: int, io_uring_nr: int) -> list[tuple[int, int, int, int]]:
    deny = _RET_ERRNO | errno.EACCES
    # (code, jump if true, jump if false, k); jumps count instructions after this one.
    return [
        (_LD_W_ABS, 0, 0, 4),  # 0 arch
        (_JEQ_K, 1, 0, arch),  # 1 -> 3
        (_RET_K, 0, 0, deny),  # 2
        (_LD_W_ABS, 0, 0, 0),  # 3 nr
        (_JGE_K, 7, 0, 0x40000000),  # 4 -> 12 deny
        (_JEQ_K, 6, 0, io_uring_nr),  # 5 -> 12 deny
        (_JEQ_K, 1, 0, socket_nr),  # 6 -> 8
        (_RET_K, 0, 0, _RET_ALLOW),  # 7
        (_LD_W_ABS, 0, 0, 16),  # 8 family
        (_JEQ_K, 0, 1, _AF_UNIX),  # 9 -> 10 allow, else 11
        (_RET_K, 0, 0, _RET_ALLOW),  # 10
        (_RET_K, 0, 0, deny),  # 11
        (_RET_K, 0, 0, deny),  # 12
    ]


def forbid_network() -> bool:
    """Install the filter in this process (for good: it cannot be lifted). False where it cannot be."""
    machine = _MACHINES.get(platform.machine())
    if platform.system() != "Linux" or machine is None:
        log.warning("outbound requests are refused by the text check only: no seccomp filter for %s %s",
                    platform.system(), platform.machine())  # fmt: skip
        return False
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in _program(*machine))
    buffer = ctypes.create_string_buffer(code, len(code))

    class _Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = _Program(len(code) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if (
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        or libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0
    ):
        log.warning("outbound requests are refused by the text check only: seccomp failed (%s)",
                    errno.errorcode.get(ctypes.get_errno(), "?"))  # fmt: skip
        return False
    return True

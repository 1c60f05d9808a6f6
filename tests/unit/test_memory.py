"""Allocator settings: Arrow allocates through malloc, and glibc maps large blocks (and unmaps them
when freed) even after a larger block was freed, which by default raises its mmap threshold."""

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

import pytest

from pipelines.memory import MMAP_THRESHOLD

# a fresh process: the settings are process-wide; mapped bytes from glibc's mallinfo2 (hblkhd)
PROBE = """
import ctypes, json
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype, libc.malloc.restype = Info, ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def mapped_by(size):
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(size)
    grown = libc.mallinfo2().hblkhd - before
    libc.free(block)
    return grown
libc.free(libc.malloc(24 << 20))  # a 24 MiB block freed: glibc's threshold rises past 8 MiB
out = {"default": mapped_by(8 << 20)}
from pipelines.memory import configure_allocators
import pyarrow as pa
out["fixed"], out["configured"] = configure_allocators(), mapped_by(8 << 20)
out["pool"] = pa.default_memory_pool().backend_name
print(json.dumps(out))
"""


def glibc() -> bool:
    name = ctypes.util.find_library("c")
    return bool(name) and hasattr(ctypes.CDLL(name), "gnu_get_libc_version")


def test_large_blocks_are_mapped_even_after_a_larger_one_was_freed():
    if not glibc():
        reason = "the mmap threshold is glibc's; this C library is not glibc"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    out = json.loads(subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True,
                                    cwd=os.getcwd()).stdout)
    assert MMAP_THRESHOLD <= 8 << 20
    assert out["default"] == 0  # glibc's own behaviour: the block came from the heap
    assert out["fixed"] is True and out["configured"] >= 8 << 20
    assert out["pool"] == "system"

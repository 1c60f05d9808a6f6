"""Allocator settings: Arrow allocates through malloc, and glibc maps large blocks (and unmaps them
when freed) even after a larger block was freed, which by default raises its mmap threshold; the
free pages inside glibc's heap go back to the system between the mart stage's steps."""

import ctypes
import ctypes.util
import json
import os
import subprocess
import sys

from pipelines.memory import MMAP_THRESHOLD
from tests.needs import require

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


# a fresh process: 125 MB of small blocks freed below one still in use leave a hole in the heap
TRIM_PROBE = """
import ctypes, json
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
from pipelines.memory import release_freed
blocks = [libc.malloc(16 << 10) for _ in range(8000)]
for block in blocks:
    ctypes.memset(block, 1, 16 << 10)
for block in blocks[:-1]:
    libc.free(block)
before = rss()
released = release_freed()
print(json.dumps({"released": released, "returned_mb": (before - rss()) / 2**20}))
"""


def run_on_glibc(probe: str, what: str) -> dict:
    """The JSON a probe prints in a fresh process; skipped (failed under CI) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    require(bool(name and hasattr(ctypes.CDLL(name), "gnu_get_libc_version")),
            f"{what} is glibc's; this C library is not glibc")
    return json.loads(subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True,
                                     cwd=os.getcwd()).stdout)


def test_large_blocks_are_mapped_even_after_a_larger_one_was_freed():
    out = run_on_glibc(PROBE, "the mmap threshold")
    assert MMAP_THRESHOLD <= 8 << 20
    assert out["default"] == 0  # glibc's own behaviour: the block came from the heap
    assert out["fixed"] is True and out["configured"] >= 8 << 20
    assert out["pool"] == "system"


def test_free_pages_inside_the_heap_go_back_to_the_system():
    out = run_on_glibc(TRIM_PROBE, "malloc_trim")
    assert out["released"] is True and out["returned_mb"] > 100, out

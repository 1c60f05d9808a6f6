"""Process-wide allocator settings, so that memory one stage frees is there for the next.

The pipeline allocates through three allocators: Python, numpy and pandas through the C
library's malloc, Arrow (pandas' strings, the parsers) through its own pool, DuckDB through its
bundled jemalloc. Memory freed into one of them serves that one only, so a stage's freed frames
held up the peak of the stage after it. Two settings return it to the system instead:

- Arrow allocates through malloc (its default pool, mimalloc, kept freed memory for itself);
- glibc's mmap threshold stays at MMAP_THRESHOLD. By default it rises after every large block
  freed (up to 32 MiB), after which large blocks come from the heap, which fragments and keeps
  them; fixed, every block from 4 MiB is mapped and unmapped.

A large day's mart stage in a fresh process (RSS sampled every 5 ms, same hour) peaked at
1,667-1,719 MB in four runs without them and 1,540 and 1,545 MB with them, for about 1 s more
system time in 48 s of CPU (page faults; a 1 MiB threshold gave the same peaks and twice that).
Elsewhere than glibc (macOS, musl) only the Arrow setting applies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import pyarrow as pa

MMAP_THRESHOLD = 4 << 20  # bytes: blocks from this size are mapped and unmapped, never kept
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@cache
def configure_allocators() -> bool:
    """Apply both settings once per process; True where glibc's mmap threshold could be fixed."""
    pa.set_memory_pool(pa.system_memory_pool())
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1

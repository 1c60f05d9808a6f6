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
Elsewhere than glibc (macOS, musl) only the Arrow setting applies. Besides, the mart stage gives
the free pages inside glibc's heap back between its steps (`release_freed`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

MMAP_THRESHOLD = 4 << 20  # bytes: blocks from this size are mapped and unmapped, never kept
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library where it is glibc (which has mallopt and malloc_trim), else None."""
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return libc if libc is not None and hasattr(libc, "gnu_get_libc_version") else None


@cache
def configure_allocators(arrow: bool = True) -> bool:
    """Apply both settings once per process (the Arrow one unless `arrow` is false: a process that
    never uses Arrow need not load it, ~50 MB); True where glibc's mmap threshold could be fixed."""
    if arrow:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def release_freed() -> bool:
    """Give the free pages inside glibc's heap back to the system (malloc_trim), between steps.

    Blocks under the mmap threshold come from the heap, and the holes a step's small frees leave
    there stay resident until reused. The mart stage calls this between its steps: at scale 100
    its peak fell 547-552 -> 537-541 MB (two runs each). True where pages were released; a no-op
    elsewhere than glibc.
    """
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1

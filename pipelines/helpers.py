"""Helper processes for the loads: pools started on first use, stopped together before the marts.

Two pools: the parser a batch ahead of the loader (`sources/reader.py`, one worker) and sentiment
scoring (`enrich/sentiment.py`, a worker per core but one). Helpers are spawned — a fresh
interpreter, which never inherits the warehouse's threads or open files, and leaves no server
process behind once stopped (a forkserver stayed, 13 MB, 141 MB when it preloaded modules); a
helper imports what it runs and the script its process was started from (the `cx` command: light;
not in Airflow's tasks, see `without_helpers`). Each helper applies the allocator settings of
`memory.py`, so what it frees goes back to the system, and exits by itself when the process that
started it is gone. The mart stage stops them (`stop_helpers`): what they hold is the loads'
memory, and it would otherwise stand beside the marts' peak.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from pipelines.memory import configure_allocators

_POOLS: dict[str, ProcessPoolExecutor] = {}
PARENT_CHECK_SECONDS = 1.0
_held_back = 0  # `without_helpers` blocks open


def helpers_allowed() -> bool:
    """Whether helpers may start: more than one core, not in a daemon process (it may not have
    children), not inside `without_helpers`."""
    return not _held_back and (os.cpu_count() or 1) > 1 and not multiprocessing.current_process().daemon


@contextmanager
def without_helpers() -> Iterator[None]:
    """Start no helper inside this block: everything runs in this process.

    For Airflow's tasks: sources load in parallel tasks, which keep the cores busy, and a helper
    imports what the process was started from — the `airflow` command, 1.7 s and 115 MB a helper.
    """
    global _held_back
    _held_back += 1
    try:
        yield
    finally:
        _held_back -= 1


def helper_pool(name: str, workers: int, *, arrow: bool = True) -> ProcessPoolExecutor:
    """The pool `name` of this process, started with `workers` processes on first use (`arrow`:
    whether its helpers use Arrow, see `memory.configure_allocators`)."""
    if name not in _POOLS:
        _POOLS[name] = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=_start_helper, initargs=(arrow, os.getpid()))
    return _POOLS[name]


def _start_helper(arrow: bool, parent: int) -> None:
    """In a new helper: the allocator settings, and an exit when `parent` is gone (killed, out of
    memory): a helper waits for work that would never come, and nothing else would stop it."""
    configure_allocators(arrow)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="exit-with-parent").start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def running() -> dict[str, ProcessPoolExecutor]:
    """The pools started and not stopped, by name."""
    return dict(_POOLS)


def stop_helper(name: str) -> None:
    """Stop the pool `name` if it runs (also a broken one), waiting for its processes to exit."""
    pool = _POOLS.pop(name, None)
    if pool is not None:
        pool.shutdown()


def stop_helpers() -> None:
    """Stop every pool; the next use starts a new one."""
    for name in list(_POOLS):
        stop_helper(name)

"""One writer at a time: the lock every command that writes the warehouse holds.

PostgreSQL: a session-level advisory lock on a dedicated connection. DuckDB allows one writing
process per file, so a second run would fail opening it: it waits on a lock file in CX_HOME
instead, before it touches the database. Both are released by the operating system or the server
when the holder dies, even by SIGKILL. A waiter gives up after CX_LOCK_TIMEOUT seconds.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from pipelines.errors import ConfigError, RunError
from pipelines.warehouse.db import is_duckdb

DEFAULT_TIMEOUT = 600.0
ADVISORY_KEY = 0x43585F5748  # "CX_WH": the one warehouse-writer lock
POLL_SECONDS = 0.2


def lock_timeout() -> float:
    """CX_LOCK_TIMEOUT in seconds (default 600), or a ConfigError naming the variable."""
    raw = os.environ.get("CX_LOCK_TIMEOUT", "")
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ConfigError(f"CX_LOCK_TIMEOUT: {raw!r} is not a number of seconds >= 0")
    return value


class LockTimeout(RunError):
    """Another process held the warehouse lock for longer than CX_LOCK_TIMEOUT."""


@contextmanager
def warehouse_lock(engine: sa.Engine, home: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the warehouse-writer lock for the block, waiting up to `timeout` seconds for it."""
    timeout = lock_timeout() if timeout is None else timeout
    if is_duckdb(engine):
        with _file_lock(home / "warehouse.lock", timeout):
            yield
    else:
        with _advisory_lock(engine, timeout):
            yield


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    raise LockTimeout(
                        f"another cx process (pid {holder}) is writing the warehouse; waited {timeout:g}s for "
                        f"{path} (raise CX_LOCK_TIMEOUT to wait longer)") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(engine: sa.Engine, timeout: float) -> Iterator[None]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        deadline = time.monotonic() + timeout
        while not conn.execute(sa.text("select pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar_one():
            if time.monotonic() >= deadline:
                holder = conn.execute(sa.text(
                    "select pid from pg_locks where locktype = 'advisory' and granted and objid = :k"),
                    {"k": ADVISORY_KEY & 0xFFFFFFFF}).scalar()
                raise LockTimeout(
                    f"another cx process (server pid {holder or 'unknown'}) is writing the warehouse; waited "
                    f"{timeout:g}s for its advisory lock (raise CX_LOCK_TIMEOUT to wait longer)")
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})

"""The warehouse connection: engines, SQL files, migrations and bulk frame transfer.

DuckDB (embedded default) and PostgreSQL (production) run the same SQL files; what differs
between them — how a DataFrame gets into the database — is isolated here.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from pipelines.config import NAME_RE, SQL_DIR
from pipelines.errors import ConfigError

NULL_MARK = r"\N"  # how COPY receives a missing value (see copy_frame)
ARROW_BATCH = 8_192  # DuckDB scans an Arrow table one batch per thread: small batches use every core
_STATEMENT_END = re.compile(r";\s*(?:--[^\n]*)?\n")


# DuckDB returns what a finished query freed to the system once its allocator holds more than
# this (DuckDB's default, 128 MiB / 512 MiB, kept a large day's freed query memory and raised the
# mart stage's peak RSS by about 120 MB), and writes every complete row group of a large insert
# to the file at once (by default it buffers 5 in memory until the transaction commits: the marts
# transaction held fct_feedback's 444,000 rows; the stage's peak went 1,543-1,569 -> 1,470-1,489 MB
# at the same speed). It checkpoints once its write-ahead log passes 128 MB instead of 16 MB: a
# checkpoint has a cost of its own (the staging and text caches' key indexes, before migration 20),
# and a mid-size brand's source-day passes 16 MB, so a backfill paid one per source-day (ten days' loads
# 66.5 -> 55.8 s with the final checkpoint, peak RSS 870 -> 896 MB; 512 MB: 54.4 s and 1,173 MB).
# Its checkpoints do not vacuum, except the marts' (`marts_transaction`): the vacuum merges every
# table's newly appended row group into the one before, so each checkpoint of the loads rewrote the
# last, growing row group of every table they append to (a mid-size backfill's checkpoints cost
# 1.6-6.6 s as those row groups filled, about 1.1 s without it). The loads' row groups are merged
# once, at the marts' commit, which vacuums every table; a row group emptied by deletes is dropped
# either way. A setting in the warehouse URL's query wins.
DUCKDB_CONFIG = {"allocator_flush_threshold": "8MB", "allocator_bulk_deallocation_flush_threshold": "8MB",
                 "write_buffer_row_group_count": "1", "checkpoint_threshold": "128MB", "max_vacuum_tasks": "0"}
# the marts transaction's own settings of the database (see marts_transaction); 100 vacuum tasks is DuckDB's default
DUCKDB_MARTS = {"threads": "1", "max_vacuum_tasks": "100"}


def make_engine(url: str) -> sa.Engine:
    """An engine for a warehouse URL; a DuckDB file's folder is created if missing."""
    connect_args: dict[str, Any] = {}
    if url.startswith("duckdb:"):
        connect_args["config"] = dict(DUCKDB_CONFIG)
    if url.startswith("duckdb:///") and not url.startswith("duckdb:///:memory:"):
        Path(url.removeprefix("duckdb:///").split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        return sa.create_engine(url, connect_args=connect_args)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise ConfigError(f"CX_WAREHOUSE_URL: cannot use {url!r}: {exc}") from None


def is_duckdb(conn: sa.Connection | sa.Engine) -> bool:
    return conn.dialect.name == "duckdb"


def release_cache(engine: sa.Engine) -> None:
    """Close a DuckDB file's pooled connections, freeing its database instance and every block it
    cached: DuckDB keeps what it read or wrote (up to 80% of RAM by default) until its last
    connection closes, so a large day's loads left about 360 MB behind for the marts to build on.
    The next checkout reopens the file. A no-op on PostgreSQL, and for in-memory DuckDB, which
    would lose its data."""
    if is_duckdb(engine) and engine.url.database not in (None, "", ":memory:"):
        engine.dispose()


PG_MARTS_WORK_MEM = "128MB"


@contextmanager
def marts_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    """The marts' one transaction, with settings for it on each dialect.

    PostgreSQL (SET LOCAL: they end with the transaction): under the default 4MB work_mem a large
    day's joins and aggregates sorted on disk (the KPI inputs' 2.4 million segment rows,
    fct_feedback's join), so work_mem is raised to PG_MARTS_WORK_MEM, never lowered below an
    operator's; JIT is off: the planner's estimates for the temporary tables made it compile the
    KPI query for 7.4 of its 15 s.

    DuckDB (DUCKDB_MARTS, unless the warehouse URL sets them) runs it on one thread: every thread
    of an insert keeps its own partial row groups in memory until commit (a large day's
    fct_feedback held 134 MB on two threads, 32 MB on one), and the stage is mostly Python (on 2
    cores: the same time within 3%, peak RSS 1,372-1,388 -> 1,281-1,291 MB). Its commit's
    checkpoint vacuums, the loads' do not (DUCKDB_CONFIG). Both are the database's settings, not
    the session's, so the previous values are put back after the transaction.
    """
    restore: dict[str, Any] = {}
    if is_duckdb(engine):
        with engine.begin() as conn:
            for name, value in DUCKDB_MARTS.items():
                if name not in engine.url.query:
                    restore[name] = conn.exec_driver_sql(f"select current_setting('{name}')").scalar_one()
                    conn.exec_driver_sql(f"set global {name} = {value}")
    try:
        with engine.begin() as conn:
            if not is_duckdb(conn):
                conn.exec_driver_sql("set local jit = off")
                conn.execute(sa.text("select set_config('work_mem', :size, true) "
                                     "where pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(:size)"),
                             {"size": PG_MARTS_WORK_MEM})
            yield conn
    finally:
        if restore:
            with engine.begin() as conn:
                for name, value in restore.items():
                    conn.exec_driver_sql(f"set global {name} = {value}")


@cache
def sql_text(name: str) -> str:
    """The text of a SQL file under sql/ (cached: the files are read once per process)."""
    return (SQL_DIR / name).read_text(encoding="utf-8")


def statements(sql: str) -> list[str]:
    """Split a SQL file into statements at `;` line ends (our files keep `;` out of literals)."""
    parts = _STATEMENT_END.split(sql + "\n")
    return [p.strip() for p in parts if re.sub(r"--[^\n]*", "", p).strip()]


def in_list(sql: str, name: str) -> sa.TextClause:
    """A statement whose `:name` parameter is bound to a list (`x in :name`), one bind per element."""
    return sa.text(sql).bindparams(sa.bindparam(name, expanding=True))


def run_sql_file(conn: sa.Connection, name: str, **params: Any) -> None:
    """Execute every statement of sql/<name> with bind parameters (never formatted values)."""
    for stmt in statements(sql_text(name)):
        clause = sa.text(stmt)
        used = {k: v for k, v in params.items() if f":{k}" in stmt}
        conn.execute(clause, used)


def table_name(schema: str, name: str) -> str:
    """A schema-qualified identifier from the allow-list pattern, or a ConfigError."""
    for part in (schema, name):
        if not NAME_RE.match(part):
            raise ConfigError(f"not an allowed identifier: {part!r}")
    return f"{schema}.{name}"


def migrate(engine: sa.Engine) -> list[int]:
    """Apply the migrations in sql/migrations not yet recorded; returns the versions applied.

    `NNN_name.sql` runs on every dialect; `NNN_name.<dialect>.sql` (e.g. `.postgresql.sql`) holds
    what only that dialect has (roles, grants, indexes) and runs right after it, in the same
    transaction. All pending versions apply in one transaction: an upgrade fully happens or not.
    """
    files = sorted(p for p in (SQL_DIR / "migrations").glob("[0-9][0-9][0-9]_*.sql") if p.stem.count(".") == 0)
    applied: list[int] = []
    with engine.begin() as conn:
        conn.exec_driver_sql("create schema if not exists ops")
        conn.exec_driver_sql(
            "create table if not exists ops.schema_migrations "
            "(version integer primary key, name text not null, applied_at timestamptz not null)"
        )
        done = set(conn.execute(sa.text("select version from ops.schema_migrations")).scalars())
        for path in files:
            version = int(path.name[:3])
            if version in done:
                continue
            dialect_file = path.with_name(f"{path.stem}.{conn.dialect.name}.sql")
            for part in (path, dialect_file):
                if part.exists():
                    for stmt in statements(part.read_text(encoding="utf-8")):
                        conn.exec_driver_sql(stmt)
            conn.execute(
                sa.text("insert into ops.schema_migrations values (:v, :n, :t)"),
                {"v": version, "n": path.stem, "t": datetime.now(UTC)},
            )
            applied.append(version)
    return applied


def ensure_raw_table(conn: sa.Connection, source: str) -> str:
    """Create raw.<source> if needed and return its name."""
    name = table_name("raw", source)
    conn.exec_driver_sql(sql_text("raw_table.sql").format(table=name))
    return name


@contextmanager
def frame_as_table(conn: sa.Connection, df: pd.DataFrame | pa.Table, name: str, *, once: bool = False) -> Iterator[str]:
    """Expose a DataFrame or an Arrow table to SQL as a table called `name` for the duration of the block.

    DuckDB scans it in place (zero copy), ARROW_BATCH rows at a time so that every core takes
    some. DuckDB keeps what was registered in a transaction until the transaction ends, even
    once unregistered (the dropped view still holds it): a large day's marts transaction kept
    154 MB of texts and rows it had read. A table read by one statement (`once`) is therefore
    registered as a stream, whose batches are let go as they are read; those a statement left
    unread are dropped when the block ends. PostgreSQL gets a temporary table filled by COPY.
    """
    if not NAME_RE.match(name):
        raise ConfigError(f"not an allowed identifier: {name!r}")
    if is_duckdb(conn):
        table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
        batches = table.to_batches(max_chunksize=ARROW_BATCH)
        duck = conn.connection.driver_connection
        duck.register(name, _draining_reader(table.schema, batches) if once
                      else pa.Table.from_batches(batches, table.schema))
        try:
            yield name
        finally:
            duck.unregister(name)
            batches.clear()  # those a statement did not read: a join with nothing to match may stop early
        return
    frame = df.to_pandas() if isinstance(df, pa.Table) else df
    columns = ", ".join(f"{col} {_pg_type(frame[col])}" for col in frame.columns)
    conn.exec_driver_sql(f"create temporary table {name} ({columns}) on commit drop")
    copy_frame(conn, frame, name)
    try:
        yield name
    finally:
        conn.exec_driver_sql(f"drop table if exists {name}")


def _draining_reader(schema: pa.Schema, batches: list[pa.RecordBatch]) -> pa.RecordBatchReader:
    """A one-pass reader that drops each batch from `batches` as it hands it over, so that whatever
    keeps the reader until commit (DuckDB, or its last result) keeps no rows. A reader over the list
    itself keeps the list, and every batch in it, as long as the reader lives: one CI run found a
    bulk insert's 16 MB still held before commit."""
    batches.reverse()

    def drain() -> Iterator[pa.RecordBatch]:
        while batches:
            yield batches.pop()

    return pa.RecordBatchReader.from_batches(schema, drain())


def read_frame(conn: sa.Connection, stmt: sa.TextClause, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """A query's rows as a DataFrame, for large reads of text, dates and integers.

    DuckDB hands its result over column by column through Arrow, where pandas' read_sql would
    build a Python tuple per row (seconds and hundreds of MB for a large day's texts). Dates
    arrive as `datetime.date` on both dialects; decimals would arrive as `Decimal` on DuckDB, so
    queries returning numerics keep `pd.read_sql_query`. The result is closed once read: the DuckDB
    driver would otherwise fetch it again (a closed result: "result closed") before the
    connection's next native call whenever something still held it, such as a profiler keeping frames.
    """
    if not is_duckdb(conn):
        return pd.read_sql_query(stmt, conn, params=params)
    result = conn.execute(stmt, params or {})
    try:
        return result.cursor.arrow().read_all().to_pandas()
    finally:
        result.close()


def insert_frame(conn: sa.Connection, df: pd.DataFrame, table: str) -> int:
    """Bulk-append a DataFrame to an existing table whose columns include the frame's."""
    if df.empty:
        return 0
    if is_duckdb(conn):
        with frame_as_table(conn, df, "cx_insert", once=True) as src:
            cols = ", ".join(df.columns)
            conn.exec_driver_sql(f"insert into {table} ({cols}) select {cols} from {src}")
    else:
        copy_frame(conn, df, table)
    return len(df)


def copy_frame(conn: sa.Connection, df: pd.DataFrame, table: str) -> None:
    """PostgreSQL COPY of a frame as CSV: one round trip, no row-by-row INSERT.

    Missing values travel as `\\N` and every column is FORCE_NULL, so a quoted `\\N` reads as
    NULL while an empty string stays an empty string (plain CSV COPY cannot tell them apart).
    """
    buf = io.StringIO()
    out = df.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = _iso_utc(out[col])
    out.to_csv(buf, index=False, header=False, quoting=csv.QUOTE_NONNUMERIC, na_rep=NULL_MARK)
    cols = ", ".join(df.columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"copy {table} ({cols}) from stdin (format csv, null '{NULL_MARK}', force_null ({cols}))") as copy:
        copy.write(buf.getvalue())


def _iso_utc(times: pd.Series) -> pd.Series:
    """Timezone-aware timestamps as ISO-8601 UTC text (None for NaT), formatted by numpy in one call:
    a per-row Timestamp.isoformat was the largest Python loop of a PostgreSQL load."""
    text = np.datetime_as_string(times.dt.tz_convert("UTC").to_numpy("datetime64[ns]"), unit="us")
    out = np.char.add(text, "+00:00").astype(object)
    out[times.isna().to_numpy()] = None
    return pd.Series(out, index=times.index, dtype=object)


def _pg_type(series: pd.Series) -> str:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    return "date" if pd.api.types.infer_dtype(series, skipna=True) == "date" else "text"

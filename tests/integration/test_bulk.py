"""The one dialect seam (pipelines/warehouse/db.py): a DataFrame bulk-loaded into DuckDB
(registered frame) and PostgreSQL (COPY) reads back the same, awkward values included."""

from __future__ import annotations

import gc
import time
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from pipelines.enrich.text_cache import TextCache
from pipelines.warehouse.db import frame_as_table, insert_frame, make_engine, migrate

AWKWARD = pd.DataFrame({
    "id": pd.array([1, 2, 3, 4, 5], dtype="Int64"),  # row 4: an empty string, which is not NULL
    "text": pd.array(['say "hi", then\nleave', "back\\slash;", "naïve — 東京 🙂", "", None], dtype="string"),
    "score": [0.5, -1.25, None, 1e-9, 2.0],
    "flag": pd.array([True, False, None, True, False], dtype="boolean"),
    "seen_at": pd.to_datetime(["2026-03-10T09:00:00.123456Z", None, "2026-03-31T23:59:59Z", "2026-01-01T00:00:00Z",
                              "2026-02-01T12:00:00+01:00"],
                         utc=True, format="ISO8601"),
    "seen_on": pd.Series([date(2026, 3, 10), None, date(2026, 3, 31), date(2026, 1, 1), date(2026, 2, 1)],
                         dtype="object"),
})
DDL = "create table staging.bulk_probe (id bigint, text text, score double precision, flag boolean, " \
      "seen_at timestamptz, seen_on date)"


def rows(conn: sa.Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


def expected() -> list[tuple]:
    out = []
    for r in AWKWARD.itertuples(index=False):
        out.append((r.id, None if pd.isna(r.text) else r.text, None if pd.isna(r.score) else r.score,
                    None if pd.isna(r.flag) else bool(r.flag),
                    None if pd.isna(r.seen_at) else r.seen_at.to_pydatetime(),
                    r.seen_on))
    return out


def test_insert_frame_and_frame_as_table_round_trip(warehouse_url):
    engine = make_engine(warehouse_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("create schema if not exists staging")
            conn.exec_driver_sql(DDL)
            assert insert_frame(conn, AWKWARD, "staging.bulk_probe") == 5
            stored = rows(conn, "select id, text, score, flag, seen_at, seen_on from staging.bulk_probe order by id")
            with frame_as_table(conn, AWKWARD, "probe_in"):
                scanned = rows(conn, "select id, text, score, flag, seen_at, seen_on from probe_in order by id")
        assert stored == expected() and scanned == expected()
    finally:
        engine.dispose()


def test_duckdb_lets_go_of_what_one_statement_read_before_the_transaction_ends(tmp_path):
    """DuckDB keeps whatever was registered in a transaction until it ends: the bulk insert and the
    text cache (one statement each) register a stream, whose Arrow copy of the rows is freed as read."""
    engine = make_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    migrate(engine)
    texts = [f"customer text {i} " * 8 for i in range(100_000)]  # about 15 MB once in Arrow
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("create table staging.held_probe (text text)")
            before = pa.total_allocated_bytes()
            insert_frame(conn, pd.DataFrame({"text": pd.Series(texts, dtype=object)}), "staging.held_probe")
            cache = TextCache(conn, "ops.theme_cache", "themes", {"taxonomy": "probe"})
            cache.get(pa.array(texts), lambda new: np.ones(len(new), np.int64), np.int64)
            held = _held_after(before)
            stored = conn.execute(sa.text("select (select count(*) from staging.held_probe), "
                                          "(select count(*) from ops.theme_cache)")).one()
        assert tuple(stored) == (len(texts), len(texts)) and cache.misses == len(texts)
        assert held < 1_000_000, f"{held:,} bytes of Arrow data held until commit"
    finally:
        engine.dispose()


def test_duckdb_lets_go_of_what_one_statement_left_unread(tmp_path):
    """A statement may stop reading a stream early (a join with nothing to match), or read none of
    it: the batches it left must not stay registered with the transaction until commit."""
    engine = make_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    texts = [f"customer text {i} " * 8 for i in range(100_000)]  # about 15 MB once in Arrow
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("create table held_probe (text text)")
            before = pa.total_allocated_bytes()
            with frame_as_table(conn, pd.DataFrame({"text": pd.Series(texts, dtype=object)}), "probe_in", once=True):
                conn.exec_driver_sql("insert into held_probe select text from probe_in where false")
            held = _held_after(before)
        assert held < 1_000_000, f"{held:,} bytes of Arrow data held until commit"
    finally:
        engine.dispose()


def _held_after(before: int) -> int:
    """Arrow bytes allocated since `before` that stay allocated. A statement that stopped early
    may return while DuckDB's cancelled scan tasks still hold a batch for a moment, so this waits
    up to five seconds for those to let go: what is held until commit stays."""
    deadline = time.monotonic() + 5
    while True:
        gc.collect()
        held = pa.total_allocated_bytes() - before
        if held < 1_000_000 or time.monotonic() > deadline:
            return held
        time.sleep(0.05)

"""The one dialect seam (pipelines/warehouse/db.py): a DataFrame bulk-loaded into DuckDB
(registered frame) and PostgreSQL (COPY) reads back the same, awkward values included."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from pipelines.warehouse.db import frame_as_table, insert_frame, make_engine

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

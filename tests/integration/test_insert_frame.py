"""Bulk inserts keep what a frame holds: NULLs, quotes, newlines, exact instants (PostgreSQL goes through COPY)."""

import numpy as np
import pandas as pd

from pipelines.warehouse.db import insert_frame, make_engine


def test_insert_frame_round_trips_nulls_quotes_and_instants(warehouse_url):
    frame = pd.DataFrame({
        "t": ["a", None, 'he said ""hi"", ok', 'x\n"",y', ","],
        "n": [1.5, np.nan, None, 3.0, 0.0],
        "seen_at": pd.to_datetime(["2026-03-01T00:00:00Z", None, "2026-03-29T01:30:15.5Z", None,
                              "2026-10-25T00:59:59Z"], format="ISO8601", utc=True).tz_convert("Europe/London"),
    })
    engine = make_engine(warehouse_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("create table t_copy (pos integer, t text, n double precision, seen_at timestamptz)")
        insert_frame(conn, frame.assign(pos=range(5)), "t_copy")
        rows = conn.exec_driver_sql("select t, n, seen_at from t_copy order by pos").all()
    engine.dispose()
    assert [r[0] for r in rows] == ["a", None, 'he said ""hi"", ok', 'x\n"",y', ","]
    assert [r[1] for r in rows] == [1.5, None, None, 3.0, 0.0]
    instants = [None if r[2] is None else pd.Timestamp(r[2]).tz_convert("UTC") for r in rows]
    assert instants == [pd.Timestamp("2026-03-01T00:00:00Z"), None, pd.Timestamp("2026-03-29T01:30:15.5Z"), None,
                        pd.Timestamp("2026-10-25T00:59:59Z")]


def test_read_frame_leaves_nothing_for_duckdb_to_fetch_again_while_its_frames_are_kept(tmp_path):
    """A profiler or debugger that keeps frames alive also kept read_frame's result: the DuckDB
    driver then fetched it once more before the next native call and failed ("result closed")."""
    import sys

    import sqlalchemy as sa

    from pipelines.warehouse.db import read_frame

    engine = make_engine(f"duckdb:///{tmp_path}/w.duckdb")
    kept = []
    with engine.begin() as conn:
        conn.exec_driver_sql("create table t as select range as i, 'text ' || range as s from range(50000)")
        sys.setprofile(lambda frame, event, arg: kept.append(frame) if event == "call" else None)
        try:
            read = read_frame(conn, sa.text("select i, s from t order by i"))
        finally:
            sys.setprofile(None)
        insert_frame(conn, pd.DataFrame({"i": [-1], "s": ["new"]}), "t")
        total = conn.exec_driver_sql("select count(*) from t").scalar_one()
    engine.dispose()
    assert kept  # the frames were kept
    assert (len(read), read["s"].iloc[-1], total) == (50000, "text 49999", 50001)

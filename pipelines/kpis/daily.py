"""The KPI stage: `marts.kpi_daily` for every kpi date a set of dirty feedback dates reaches.

A feedback date d feeds the windows ending on d … d + 27, so those kpi dates (up to the later of
the run day and the latest kpi date already computed) are recomputed from scratch: delete, then
insert, inside the caller's transaction, so a rerun writes identical rows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.kpis.stats import compute_metrics
from pipelines.warehouse.db import frame_as_table, insert_frame, sql_text

KPI_WINDOW = 28
KPI_DATES_TABLE = "tmp_kpi_dates"


def kpi_dates(conn: sa.Connection, day: date, dirty: list[date]) -> list[date]:
    """The run day plus every date whose 28-day window holds a dirty feedback date."""
    latest = conn.execute(sa.text("select max(kpi_date) from marts.kpi_daily")).scalar()
    horizon = max(day, latest or day)
    return sorted({day} | {
        d + timedelta(days=i) for d in dirty for i in range(KPI_WINDOW) if d + timedelta(days=i) <= horizon
    })


def read_inputs(conn: sa.Connection, dates: list[date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sufficient statistics and reply-time medians for `dates`, aggregated in the warehouse."""
    frame = pd.DataFrame({"kpi_date": pd.Series(dates, dtype="object")})
    params = {"min_date": dates[0] - timedelta(days=KPI_WINDOW - 1), "max_date": dates[-1]}
    with frame_as_table(conn, frame, KPI_DATES_TABLE):
        stats = pd.read_sql_query(sa.text(sql_text("marts/kpi_inputs.sql")), conn, params=params)
        medians = pd.read_sql_query(sa.text(sql_text("marts/kpi_median_reply.sql")), conn, params=params)
    return stats, medians


def update_kpis(conn: sa.Connection, day: date, dirty: list[date]) -> int:
    """Recompute `marts.kpi_daily` for the kpi dates `dirty` reaches; returns the rows written."""
    dates = kpi_dates(conn, day, dirty)
    rows = compute_metrics(*read_inputs(conn, dates))
    conn.execute(
        sa.text("delete from marts.kpi_daily where kpi_date in :dates").bindparams(
            sa.bindparam("dates", expanding=True)),
        {"dates": dates},
    )
    insert_frame(conn, rows, "marts.kpi_daily")
    return len(rows)

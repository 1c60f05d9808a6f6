"""The star schema's incremental build: dimensions first, then customers, then the facts.

Everything reads the dirty dates (ops.dirty_dates) only, inside the caller's transaction, so the
marts move from one consistent state to the next and the cost follows the rows that changed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import sqlalchemy as sa

from pipelines.config import SourceConfig
from pipelines.warehouse.db import frame_as_table, run_sql_file
from pipelines.warehouse.identity import resolve_customers

DIMENSION_FILES = ("dim_source.sql", "dim_date.sql", "dim_product.sql", "dim_location.sql",
                   "dim_journey_stage.sql", "dim_touchpoint.sql")
FACT_FILES = ("fct_review.sql", "fct_mention.sql", "fct_survey_response.sql", "fct_feedback.sql")


def sync_sources(conn: sa.Connection, sources: Iterable[SourceConfig]) -> None:
    """Upsert the configured sources into dim_source; rows of sources no longer configured stay,
    because facts still reference them."""
    frame = pd.DataFrame([{"source": s.name, "family": s.family, "format": s.format} for s in sources],
                         columns=["source", "family", "format"])
    with frame_as_table(conn, frame, "tmp_sources"):
        conn.exec_driver_sql(
            "insert into marts.dim_source (source, family, format) select source, family, format from tmp_sources "
            "on conflict (source) do update set family = excluded.family, format = excluded.format")


def add_members(conn: sa.Connection, frame: str) -> None:
    """Add the journey stages and touchpoints that `frame` (a table with those columns, e.g.
    theme hints about to be written into fct_feedback) names to their dimensions."""
    for column in ("journey_stage", "touchpoint"):
        conn.exec_driver_sql(
            f"insert into marts.dim_{column} ({column}) select distinct {column} from {frame} "
            f"where {column} is not null and {column} not in (select {column} from marts.dim_{column})")


def build_star(conn: sa.Connection, sources: Iterable[SourceConfig]) -> None:
    """Rebuild the dimensions and facts for the dirty dates, in the caller's transaction."""
    sync_sources(conn, sources)
    for name in DIMENSION_FILES:
        run_sql_file(conn, f"marts/{name}")
    items = resolve_customers(conn)
    with frame_as_table(conn, items, "tmp_item_customer"):
        for name in FACT_FILES:
            run_sql_file(conn, f"marts/{name}")

"""`ops.source_cursors`: the high-water mark of each incremental API source (migration 008)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa


def read_cursor(conn: sa.Connection, source: str) -> datetime | None:
    """Where the last committed pull of `source` reached, or None before the first one."""
    value = conn.execute(sa.text("select cursor_at from ops.source_cursors where source = :source"),
                         {"source": source}).scalar_one_or_none()
    if value is None:
        return None
    moment = pd.Timestamp(value)
    return (moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")).to_pydatetime()


def save_cursor(conn: sa.Connection, source: str, cursor_at: datetime, run_id: str) -> None:
    """Move the cursor to `cursor_at` inside the caller's load transaction; it never moves back.

    One upsert, so two loads of the same source committing together cannot collide or regress it.
    """
    conn.execute(sa.text(
        "insert into ops.source_cursors as c values (:source, :at, :now, :run_id) on conflict (source) do update "
        "set cursor_at = greatest(c.cursor_at, excluded.cursor_at), updated_at = excluded.updated_at, "
        "run_id = excluded.run_id"
    ), {"source": source, "at": cursor_at, "now": datetime.now(UTC), "run_id": run_id})

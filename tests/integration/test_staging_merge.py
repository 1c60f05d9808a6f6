"""Merging staged batches into staging (DuckDB and PostgreSQL): the latest version of a key wins,
ties and older versions count as duplicates, and the dates of new versions and of the versions
they replace are marked dirty."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from pipelines.enrich.stage import to_staging
from pipelines.run import Pipeline
from pipelines.sources.base import conform
from pipelines.warehouse.db import make_engine, migrate


def staged(conn: sa.Connection, responses: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Staging rows of survey responses given as (response_id, submitted_at, nps)."""
    good = conform(pd.DataFrame({
        "response_id": [r[0] for r in responses],
        "submitted_at": pd.to_datetime([r[1] for r in responses], utc=True),
        "respondent": "someone@mail.example", "nps": [r[2] for r in responses], "csat": None, "ces": None,
        "comment": "Fine.", "journey_stage": None, "touchpoint": None, "product": None, "location": None,
        "channel": None, "_file": "f.csv", "_line": range(1, len(responses) + 1),
    }), "survey")
    return to_staging(good, "survey", "nps", tz=ZoneInfo("UTC"), pii_key=b"k", load_id="run", conn=conn)


def test_the_latest_version_wins_and_every_date_it_touches_is_dirty(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        first = staged(conn, [("r1", "2026-03-09T10:00Z", 9), ("r2", "2026-03-10T11:00Z", 3),
                              ("r4", "2026-03-10T12:00Z", 7)])
        assert Pipeline.merge_staging(conn, "survey", first) == (3, 0)
        conn.execute(sa.text("delete from ops.dirty_dates"))

    with engine.begin() as conn:
        second = staged(conn, [
            ("r1", "2026-03-09T10:00Z", 0),   # the stored version again: a duplicate, the stored row stays
            ("r2", "2026-03-11T12:00Z", 10),  # a newer version on another day: replaces the stored one
            ("r3", "2026-03-12T09:00Z", 8),   # a new key
            ("r4", "2026-03-08T08:00Z", 1),   # older than the stored version: a duplicate
        ])
        assert Pipeline.merge_staging(conn, "survey", second) == (2, 2)

    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select response_id, feedback_date, nps from staging.stg_survey_response order by response_id")).all()
        dirty = conn.execute(sa.text("select feedback_date from ops.dirty_dates order by 1")).scalars().all()
    assert [tuple(r) for r in rows] == [("r1", date(2026, 3, 9), 9), ("r2", date(2026, 3, 11), 10),
                                        ("r3", date(2026, 3, 12), 8), ("r4", date(2026, 3, 10), 7)]
    # r2's new and replaced dates, r3's date; not r4's older version's date, nor r1's unchanged one
    assert dirty == [date(2026, 3, 10), date(2026, 3, 11), date(2026, 3, 12)]
    engine.dispose()

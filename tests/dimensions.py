"""For tests that write fact rows directly: add the dimension members those rows reference, as
the star schema's foreign keys require (a real run adds them in pipelines/warehouse/star.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

import sqlalchemy as sa

FAMILY_OF = {"review_id": "review", "mention_id": "mention", "response_id": "survey"}
MEMBERS = ("product", "location", "journey_stage", "touchpoint")


def add_dimension_members(conn: sa.Connection, rows: Iterable[Mapping]) -> None:
    """Insert the sources, dates, products, locations, stages and touchpoints `rows` name."""
    rows = [dict(r) for r in rows]
    if not rows:
        return
    sources = {}
    for r in rows:
        family = r.get("family") or next((f for col, f in FAMILY_OF.items() if col in r), "review")
        sources.setdefault(r["source"], family)
    conn.execute(sa.text("insert into marts.dim_source values (:s, :f, 'test') on conflict (source) do nothing"),
                 [{"s": s, "f": f} for s, f in sources.items()])
    days = sorted({r["feedback_date"] for r in rows if r.get("feedback_date") is not None})
    conn.execute(sa.text(
        "insert into marts.dim_date values (:d, extract(year from :d), extract(quarter from :d), "
        "extract(month from :d), extract(week from :d), extract(isodow from :d), extract(isodow from :d) > 5) "
        "on conflict (date_day) do nothing"), [{"d": d if isinstance(d, date) else d.date()} for d in days])
    for column in MEMBERS:
        values = sorted({r[column] for r in rows if r.get(column) is not None and r[column] == r[column]})
        if values:
            conn.execute(sa.text(f"insert into marts.dim_{column} values (:v) on conflict do nothing"),
                         [{"v": v} for v in values])

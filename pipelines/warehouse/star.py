"""The star schema's incremental build: dimensions first, then customers, then the facts.

Everything reads the dirty dates (ops.dirty_dates) only, inside the caller's transaction, so the
marts move from one consistent state to the next; on a date built before, only the items that
changed are rewritten, so the cost follows the rows that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipelines.config import NAME_RE, SourceConfig
from pipelines.errors import ConfigError
from pipelines.kpis import day_stats
from pipelines.kpis.analytics import term_counts
from pipelines.kpis.themes import Taxonomy, ThemeCache, tag
from pipelines.warehouse.db import frame_as_table, in_list, insert_frame, read_frame, run_sql_file
from pipelines.warehouse.identity import resolve_customers

DIMENSION_FILES = ("dim_source.sql", "dim_date.sql", "dim_product.sql", "dim_location.sql",
                   "dim_journey_stage.sql", "dim_touchpoint.sql")
FACT_FILES = ("fct_review.sql", "fct_mention.sql", "fct_survey_response.sql", "fct_feedback.sql")
TAG_CHUNK = 50_000  # feedback items read and tagged at a time


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


def tag_items(conn: sa.Connection, taxonomy: Taxonomy, items: str) -> pd.DataFrame:
    """Tag the feedback of table `items` with the taxonomy into marts.feedback_theme (the caller
    deletes what they replace).

    `items` has feedback_id, feedback_date, text, the survey's journey_stage and touchpoint, and
    item_no numbering its rows 1..n; it is read TAG_CHUNK rows at a time, so memory follows the
    chunk, not the day (a large day's texts and their tagging held 550 MB at once). Adds the hinted
    journey stages and touchpoints to their dimensions and returns per item the journey stage,
    touchpoint (survey fields first, else the theme hints) and pyramid level fct_feedback carries.
    """
    if not NAME_RE.match(items):
        raise ConfigError(f"not an allowed identifier: {items!r}")
    cache = ThemeCache(conn, taxonomy)  # texts tagged before: a lookup
    total = conn.execute(sa.text(f"select count(*) from {items}")).scalar_one()
    fills = []
    for low in range(0, max(total, 1), TAG_CHUNK):  # one pass at least: no items still give the fill's columns
        feedback = read_frame(conn, sa.text(
            f"select feedback_id, feedback_date, text, journey_stage as survey_stage, touchpoint as survey_touchpoint "
            f"from {items} where item_no > :low and item_no <= :high order by item_no"),
            {"low": low, "high": low + TAG_CHUNK})
        tags, hints = tag(taxonomy, feedback, cache)
        insert_frame(conn, tags, "marts.feedback_theme")
        fills.append(_fill(feedback, hints))
    fill = pd.concat(fills, ignore_index=True)
    with frame_as_table(conn, fill, "tmp_hint_members"):
        add_members(conn, "tmp_hint_members")  # the facts' references need the members first
    return fill


def _fill(feedback: pd.DataFrame, hints: pd.DataFrame) -> pd.DataFrame:
    """Per item: the survey's journey stage and touchpoint where it has them, else the theme hints."""
    fill = feedback[["feedback_id", "survey_stage", "survey_touchpoint"]].merge(hints, on="feedback_id", how="left")
    return pd.DataFrame({
        "feedback_id": fill["feedback_id"].astype(object),
        "journey_stage": fill["survey_stage"].astype(object).where(fill["survey_stage"].notna(), fill["journey_stage"]),
        "touchpoint": fill["survey_touchpoint"].astype(object).where(fill["survey_touchpoint"].notna(),
                                                                     fill["touchpoint"]),
        "pyramid_level": fill["pyramid_level"].astype(object),
    }).astype({"journey_stage": "str", "touchpoint": "str", "pyramid_level": "str"})


def clear_dirty_dates(conn: sa.Connection, marks: Iterable[tuple[date, int]]) -> None:
    """Clear the dirty dates a build read (`marks`: feedback_date, mark from ops.dirty_dates), each
    only at the mark it read: a load that marked a date again meanwhile raised its mark, and the
    date stays dirty for the next build (on PostgreSQL the delete waits for such a load to commit
    and then sees its mark)."""
    by_mark: dict[int, list[date]] = {}
    for day, mark in marks:
        by_mark.setdefault(mark, []).append(day)
    for mark, days in by_mark.items():
        conn.execute(in_list("delete from ops.dirty_dates where feedback_date in :dates and mark = :mark", "dates"),
                     {"dates": days, "mark": mark})


@dataclass(frozen=True)
class StarBuild:
    """What build_star did to the dirty dates: those it rebuilt `whole` (the others: only their
    changed items), those whose term counts and day statistics it `counted` by moving them with
    the rewritten items (the others' are still to be written from all their items), and `items`: the
    temporary table listing the feedback_id of every item it wrote (sql/marts/built_items.sql),
    when some dirty date was built before, else None (every row of the dirty dates is new). The
    caller drops it. `checked`: the reference checks the build ran itself (the identifiers it wrote),
    for the marts checks to count."""

    whole: list[date]
    counted: list[date]
    items: str | None = None
    checked: list[dict[str, Any]] = field(default_factory=list)


def build_star(conn: sa.Connection, sources: Iterable[SourceConfig], taxonomy: Taxonomy,
               changed_customers: bool = False) -> StarBuild:
    """Rebuild the dimensions and facts of the dirty dates in the caller's transaction: new dates
    whole, on the others the items whose staged version changed (sql/marts/rebuild_dates.sql,
    changed_items.sql one date at a time, rebuild_items.sql).
    The items are tagged with `taxonomy` before fct_feedback takes them. With `changed_customers`,
    leaves tmp_changed_customers (customer_hash): the customers whose interactions the rebuild
    changed, for the KPI stage (update_kpis drops it); leaves StarBuild.items when a dirty date
    was built before."""
    sync_sources(conn, sources)
    for name in DIMENSION_FILES:
        run_sql_file(conn, f"marts/{name}")
    run_sql_file(conn, "marts/rebuild_dates.sql")
    for day in conn.execute(sa.text("select feedback_date from tmp_partial_dates")).scalars().all():
        run_sql_file(conn, "marts/changed_items.sql", day=day)
    run_sql_file(conn, "marts/rebuild_items.sql")
    if changed_customers:
        run_sql_file(conn, "marts/interactions.sql")
        run_sql_file(conn, "marts/interactions_before.sql")
    # the dates built before whose stored term counts and day statistics the rewritten items move
    conn.exec_driver_sql("create temporary table tmp_moved_dates as select feedback_date from tmp_partial_dates "
                         "intersect select feedback_date from marts.term_day_counts "
                         "intersect select feedback_date from marts.kpi_day_stats")
    counted = sorted(conn.execute(sa.text("select feedback_date from tmp_moved_dates")).scalars())
    removed = term_counts(rewritten_texts(conn, counted))  # before their facts are rewritten
    if counted:
        day_stats.hold(conn, counted)
    identities = resolve_customers(conn)  # leaves tmp_item_customer
    run_sql_file(conn, "marts/feedback_items.sql")
    conn.exec_driver_sql("delete from marts.feedback_theme where feedback_date in (select feedback_date from "
                         "tmp_whole_dates) or (feedback_date in (select feedback_date from tmp_partial_dates) "
                         "and feedback_id in (select feedback_id from tmp_rewrite))")
    hints = tag_items(conn, taxonomy, "tmp_feedback_items")
    with frame_as_table(conn, hints, "tmp_feedback_hints"):
        for name in FACT_FILES:
            run_sql_file(conn, f"marts/{name}")
    if changed_customers:
        run_sql_file(conn, "marts/changed_customers.sql")
    move_term_counts(conn, removed, term_counts(rewritten_texts(conn, counted)))
    if counted:
        day_stats.move(conn, counted)
    whole = sorted(conn.execute(sa.text("select feedback_date from tmp_whole_dates")).scalars())
    items = None
    if conn.execute(sa.text("select count(*) from tmp_partial_dates")).scalar_one():
        run_sql_file(conn, "marts/built_items.sql")
        items = "tmp_built_items"
    conn.exec_driver_sql("drop table tmp_item_customer")
    conn.exec_driver_sql("drop table tmp_feedback_items")
    conn.exec_driver_sql("drop view tmp_feedback_source")
    for view in ("tmp_rebuilt_reviews", "tmp_rebuilt_mentions", "tmp_rebuilt_responses"):
        conn.exec_driver_sql(f"drop view {view}")
    for table in ("tmp_rewrite", "tmp_partial_dates", "tmp_whole_dates", "tmp_moved_dates", "tmp_identity_merged"):
        conn.exec_driver_sql(f"drop table {table}")
    return StarBuild(whole, counted, items, [identities])


def rewritten_texts(conn: sa.Connection, dates: list[date]) -> pd.DataFrame:
    """The texts in fct_feedback of the items rewritten on `dates` (dates built before; tmp_rewrite,
    rebuild_items.sql): feedback_date, text."""
    if not dates:
        return pd.DataFrame({"feedback_date": [], "text": []})
    return read_frame(conn, in_list(
        "select feedback_date, text from marts.fct_feedback where feedback_date in :dates "
        "and feedback_id in (select feedback_id from tmp_rewrite)", "dates"), {"dates": dates})


def move_term_counts(conn: sa.Connection, removed: pd.DataFrame, added: pd.DataFrame) -> None:
    """Take the term counts of the rewritten items' old texts (`removed`) off marts.term_day_counts
    and add those of their new ones (`added`): the counts of disjoint texts add up, so a date with a
    few changed items needs not tokenise its tens of thousands of others."""
    delta = pd.concat([added, removed.assign(docs=-removed["docs"])], ignore_index=True)
    delta = delta.groupby(["feedback_date", "term"], as_index=False, sort=False)["docs"].sum()
    delta = delta[delta["docs"] != 0].astype({"docs": "int64"})
    if not delta.empty:
        with frame_as_table(conn, delta, "tmp_term_delta"):
            run_sql_file(conn, "marts/term_day_counts.sql")

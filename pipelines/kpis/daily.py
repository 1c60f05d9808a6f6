"""The KPI stage: themes, `marts.kpi_daily` and the analytic marts for the dates that changed.

Themes are tagged as build_star writes the facts; here only a new taxonomy version re-tags the
other dates. Each date build_star rebuilt whole, or whose tags changed, has its day statistics
written from all its facts and tags (the additive counts and sums of `marts.kpi_day_stats`, the
score cells of theme impact: pipelines/kpis/day_stats.py) and its term counts from all its texts
(`marts.term_day_counts`); on the other dirty dates build_star moved both by the items it rewrote.
The windows and baselines then sum those stored days instead of re-reading 28 days of facts or
texts per kpi date. A feedback date d feeds
the windows ending on d … d + 27, so those kpi dates (up to the later of the run day and the
latest kpi date already computed) are recomputed: delete, then insert, inside the caller's
transaction, so a rerun writes identical rows. Customers at risk are stored as spans of kpi dates
per negative interaction (`marts.risk_spans`), rewritten only for the customers whose interactions
changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import sqlalchemy as sa

from pipelines.kpis import analytics, day_stats
from pipelines.kpis.stats import compute_metrics, window_medians
from pipelines.kpis.themes import Taxonomy
from pipelines.warehouse.db import frame_as_table, in_list, insert_frame, read_frame, run_sql_file, sql_text
from pipelines.warehouse.star import StarBuild, tag_items

KPI_WINDOW = 28
KPI_DATES_TABLE = "tmp_kpi_dates"
# dates computed by one statement: the kpi dates of kpi_daily, a run of feedback dates' statistics.
# A window query's rows grow with the dates it covers (each day's statistics feed 36 windows): one
# run of 30 days of a mid-size brand (57 kpi dates), while the reply-time medians were still taken
# in SQL, peaked at 3,272 MB in one statement, 3,028 MB at 31 dates a statement and 2,694 MB at 7;
# but each statement scans its windows' facts again, and at 7 the nightly run (15 dirty dates)
# built in 22.2 s against 19.5 s. At 31 a nightly run's dates still fit in one statement, and a
# year's take 13.
DATES_AT_ONCE = 31


def kpi_dates(conn: sa.Connection, day: date, dirty: list[date], reach: int = KPI_WINDOW) -> list[date]:
    """The run day plus every date within `reach` days from a dirty feedback date (28: its windows;
    29: also the trailing baselines of anomalies and emerging terms)."""
    latest = conn.execute(sa.text("select max(kpi_date) from marts.kpi_daily")).scalar()
    horizon = max(day, latest or day)
    return sorted({day} | {
        d + timedelta(days=i) for d in dirty for i in range(reach) if d + timedelta(days=i) <= horizon
    })


def computed_since(conn: sa.Connection, first: date) -> bool:
    """Whether a kpi date from `first` on was computed before: only then is knowing which customers a
    build changed worth a diff (their spans at risk are rewritten, the others kept)."""
    latest = conn.execute(sa.text("select max(kpi_date) from marts.kpi_daily")).scalar()
    return latest is not None and latest >= first


def write_day_statistics(conn: sa.Connection, dates: list[date]) -> None:
    """Rewrite the day statistics (`marts.kpi_day_stats`, the theme impact cells) of feedback `dates`
    from their facts and tags: what every window over those dates sums. DATES_AT_ONCE days a statement."""
    for first, last in consecutive_runs(dates, DATES_AT_ONCE):
        day_stats.store(conn, first, last)


@contextmanager
def counting_terms(conn: sa.Connection, dates: list[date]) -> Iterator[None]:
    """Rewrite the term counts (`marts.term_day_counts`) of feedback `dates` from all their texts:
    what the baselines of emerging terms sum. Texts do not depend on the taxonomy, so a new version
    leaves them be. The last date's counts are written when the block ends (not if it raises).

    One day's texts at a time (the dates can span the whole history), each tokenised on a thread
    while this one reads the next day's texts, and the last while the block's statements run
    (Arrow's kernels leave this thread free): the mart stage runs its statements on one thread, so a
    core would otherwise wait.
    """
    def write(day: date, counts: Future[pd.DataFrame]) -> None:
        conn.execute(sa.text("delete from marts.term_day_counts where feedback_date = :day"), {"day": day})
        insert_frame(conn, counts.result(), "marts.term_day_counts")

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="term-counts") as pool:
        pending: list[tuple[date, Future[pd.DataFrame]]] = []
        for day in dates:
            pending.append((day, pool.submit(analytics.term_counts, analytics.read_texts(conn, day, day))))
            if len(pending) > 1:
                write(*pending.pop(0))
        yield
        for day, counts in pending:
            write(day, counts)


def consecutive_runs(dates: list[date], longest: int | None = None) -> list[tuple[date, date]]:
    """The runs of consecutive days among `dates`, as (first, last) pairs in order; a run of more
    than `longest` days is cut into runs of `longest` days (the last one shorter)."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(dates)):
        if runs and day == runs[-1][1] + timedelta(days=1) and (
                longest is None or (day - runs[-1][0]).days < longest):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def read_inputs(conn: sa.Connection, dates: list[date]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sufficient statistics (summed from the stored day statistics) and reply-time medians
    (taken from the replied reviews: medians do not add up) of every window ending on `dates`."""
    frame = pd.DataFrame({"kpi_date": pd.Series(dates, dtype="object")})
    params = {"min_date": dates[0] - timedelta(days=KPI_WINDOW - 1), "max_date": dates[-1]}
    with frame_as_table(conn, frame, KPI_DATES_TABLE):
        stats = pd.read_sql_query(sa.text(sql_text("marts/kpi_inputs.sql")), conn, params=params)
    replied, themes = (read_frame(conn, sa.text(sql_text(f"marts/{name}.sql")), params)
                       for name in ("kpi_replied", "kpi_replied_themes"))
    return stats, window_medians(replied, themes, dates)


def write_kpi_daily(conn: sa.Connection, dates: list[date]) -> int:
    """Rewrite `marts.kpi_daily` for the kpi `dates` (sorted), DATES_AT_ONCE dates at a time: a kpi
    date's rows depend on its own windows only. Returns the rows written."""
    rows = 0
    for start in range(0, len(dates), DATES_AT_ONCE):
        part = dates[start:start + DATES_AT_ONCE]
        metrics = compute_metrics(*read_inputs(conn, part))
        replace_rows(conn, "marts.kpi_daily", "kpi_date", part, metrics)
        rows += len(metrics)
    return rows


def replace_rows(conn: sa.Connection, table: str, date_column: str, dates: list[date], rows: pd.DataFrame) -> None:
    """Replace the rows of `table` for `dates` with `rows`: reruns write the same rows, never more."""
    if dates:
        conn.execute(in_list(f"delete from {table} where {date_column} in :dates", "dates"), {"dates": dates})
    insert_frame(conn, rows, table)


def update_themes(conn: sa.Connection, taxonomy: Taxonomy, dirty: list[date], whole: list[date]) -> list[date]:
    """Follow a new taxonomy version: rewrite `marts.dim_theme` and re-tag every feedback date but
    those build_star rebuilt `whole` (it tagged their items as it built their facts; on the other
    dirty dates it tagged only the items it rewrote). Returns the dates whose tags may have
    changed: `dirty`, or every date when the version changed."""
    known = conn.execute(sa.text("select max(taxonomy_version) from marts.dim_theme")).scalar()
    if known == taxonomy.version:
        return dirty
    conn.execute(sa.text("delete from marts.dim_theme"))
    insert_frame(conn, taxonomy.dimension(), "marts.dim_theme")
    every = sorted(conn.execute(sa.text("select distinct feedback_date from marts.fct_feedback")).scalars())
    stale = sorted(set(every) - set(whole))
    if stale:
        conn.execute(in_list("delete from marts.feedback_theme where feedback_date in :dates", "dates"),
                     {"dates": stale})
        conn.execute(in_list(
            "create temporary table tmp_retag as select f.feedback_id, f.feedback_date, f.text, s.journey_stage, "
            "s.touchpoint, row_number() over () as item_no from marts.fct_feedback as f "
            "left join marts.fct_survey_response as s on s.feedback_id = f.feedback_id "
            "where f.feedback_date in :dates", "dates"), {"dates": stale})
        with frame_as_table(conn, tag_items(conn, taxonomy, "tmp_retag"), "tmp_feedback_hints"):
            conn.execute(sa.text(
                "update marts.fct_feedback set journey_stage = h.journey_stage, touchpoint = h.touchpoint, "
                "pyramid_level = h.pyramid_level from tmp_feedback_hints as h "
                "where marts.fct_feedback.feedback_id = h.feedback_id"))
        conn.exec_driver_sql("drop table tmp_retag")
    return sorted(set(dirty) | set(every))


@dataclass(frozen=True)
class KpiUpdate:
    """What one KPI stage rewrote: kpi_daily rows, the feedback dates re-tagged, the kpi dates."""

    rows: int
    feedback_dates: list[date]
    kpi_dates: list[date]


def update_kpis(
    conn: sa.Connection, day: date, dirty: list[date], taxonomy: Taxonomy, changed_customers: bool = False,
    built: StarBuild | None = None,
) -> KpiUpdate:
    """Themes, then `marts.kpi_daily` and the analytic marts for the kpi dates the changed dates reach.
    `built`: what build_star did to the dirty dates (without it, they count as rebuilt whole).

    With `changed_customers`, tmp_changed_customers (build_star) names the customers whose
    interactions changed, and only their spans at risk are rewritten; without it, every customer's
    spans from 27 days before the first kpi date on. Drops tmp_changed_customers.
    """
    moved = set() if built is None else set(built.counted)
    with counting_terms(conn, [d for d in dirty if d not in moved]):
        tagged = update_themes(conn, taxonomy, dirty, dirty if built is None else built.whole)
        if tagged != dirty:  # a new taxonomy re-tagged every date: no stored statistics still hold
            moved = set()
        dirty = tagged
        write_day_statistics(conn, [d for d in dirty if d not in moved])
    dates = kpi_dates(conn, day, dirty)
    trend_dates = kpi_dates(conn, day, dirty, reach=KPI_WINDOW + 1)
    if not changed_customers:
        conn.exec_driver_sql("create temporary table tmp_changed_customers (customer_hash text)")
    rows = write_kpi_daily(conn, dates)
    update_analytics(conn, taxonomy, dates, trend_dates, everyone=not changed_customers)
    conn.exec_driver_sql("drop table tmp_changed_customers")
    return KpiUpdate(rows, dirty, dates)


def update_analytics(conn: sa.Connection, taxonomy: Taxonomy, dates: list[date], trend_dates: list[date],
                     everyone: bool) -> None:
    """Theme impact and channel consistency for `dates`, the spans of customers at risk that reach
    them (of tmp_changed_customers, or of `everyone`); anomalies and emerging terms for
    `trend_dates` (a day's baseline is the 28 days before it). Theme impact's bootstrap runs on a
    thread of its own while the others' statements run."""
    low = dates[0] - timedelta(days=KPI_WINDOW - 1)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="theme-impact") as pool:
        impact = pool.submit(analytics.theme_impact, *analytics.read_impact_cells(conn, low, dates[-1]), dates)
        consistency = analytics.channel_consistency(analytics.read_channel_net(conn, dates[0], dates[-1]))
        replace_rows(conn, "marts.channel_consistency", "kpi_date", dates, consistency)
        run_sql_file(conn, "marts/interactions.sql")
        run_sql_file(conn, "marts/customers_at_risk.sql", low=low, everyone=everyone)
        conn.exec_driver_sql("drop view tmp_interactions")
        baseline = trend_dates[0] - timedelta(days=analytics.BASELINE_DAYS)
        flagged = analytics.anomalies(analytics.read_daily_series(conn, baseline, trend_dates[-1]), trend_dates)
        replace_rows(conn, "marts.anomalies", "kpi_date", trend_dates, flagged)
        counts = analytics.read_term_counts(conn, baseline, trend_dates[0], trend_dates[-1])
        texts_per_day = analytics.read_texts_per_day(conn, baseline, trend_dates[-1])
        emerging = analytics.emerging_terms(counts, texts_per_day, trend_dates, taxonomy)
        replace_rows(conn, "marts.emerging_terms", "kpi_date", trend_dates, emerging)
        replace_rows(conn, "marts.theme_impact", "kpi_date", dates, impact.result())

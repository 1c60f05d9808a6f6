"""The report's content for one business day, read from the marts and the run log.

Every number is computed and formatted here, so the templates only place values and the web
page, the HTML email and the plain-text email cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any

import sqlalchemy as sa

from pipelines.config import PipelineConfig

WINDOW = 7  # the headline window; 1 and 28 days are shown beside it
TREND_DAYS = 28
VERBATIM_LIMIT = 5
VERBATIM_CHARS = 600
NO_DATA = "no data"

SPARK_WIDTH, SPARK_HEIGHT = 120, 28


@dataclass(frozen=True)
class Metric:
    """How one headline metric is labelled and formatted (KPIS.md defines its value)."""

    name: str
    label: str
    pattern: str
    unit: str = ""
    is_count: bool = False

    def format(self, value: float) -> str:
        return self.pattern.format(value) + self.unit


HEADLINE = (
    Metric("nps", "NPS", "{:.1f}"),
    Metric("csat", "CSAT", "{:.1f}", "%"),
    Metric("avg_rating", "Average rating", "{:.2f}", " / 5"),
    Metric("net_sentiment", "Net sentiment", "{:.1f}"),
    Metric("review_count", "Reviews", "{:,.0f}", is_count=True),
    Metric("mention_count", "Mentions", "{:,.0f}", is_count=True),
)

_KPIS = sa.text(
    "select kpi_date, window_days, metric, segment_type, segment_value, value, sample_size, ci_low, ci_high "
    "from marts.kpi_daily "
    "where kpi_date between :start and :day and metric in :metrics and segment_type in ('all', 'source')"
).bindparams(sa.bindparam("metrics", expanding=True))

# the latest run of each source for the day, with its row accounting when it loaded anything
_SOURCE_RUNS = sa.text("""
    with ranked as (
        select run_id, source, status, message,
               row_number() over (partition by source order by finished_at desc, run_id desc) as recency
        from ops.source_runs
        where business_date = :day
    )
    select r.source, r.status, r.message, a.rows_in, a.rows_loaded, a.rows_quarantined, a.rows_duplicate
    from ranked as r
    left join ops.row_accounting as a on a.run_id = r.run_id and a.source = r.source
    where r.recency = 1
""")

_QUARANTINE = sa.text(
    "select source, count(*) as quarantined from ops.quarantine where business_date = :day group by source"
)

_VERBATIM_COLUMNS = "feedback_id, source, feedback_date, text, sentiment_score, rating, nps"
_VERBATIMS = {
    "positive": sa.text(
        f"select {_VERBATIM_COLUMNS} from marts.fct_feedback "
        "where feedback_date between :start and :day and sentiment_label = 'positive' "
        "order by sentiment_score desc, feedback_id limit :limit"
    ),
    "negative": sa.text(
        f"select {_VERBATIM_COLUMNS} from marts.fct_feedback "
        "where feedback_date between :start and :day and sentiment_label = 'negative' "
        "order by sentiment_score asc, feedback_id limit :limit"
    ),
}


def build_context(conn: sa.Connection, day: date, config: PipelineConfig) -> dict[str, Any]:
    """Everything the templates show for business day `day`, formatted and in a stable order.

    Reads only marts.* and the run log (ops.source_runs, ops.row_accounting, ops.quarantine);
    nothing depends on the wall clock, so the same warehouse state gives the same report.
    """
    window_start = day - timedelta(days=WINDOW - 1)
    kpis = _read_kpis(conn, day)
    runs = {row.source: row for row in conn.execute(_SOURCE_RUNS, {"day": day})}
    quarantined = {row.source: int(row.quarantined) for row in conn.execute(_QUARANTINE, {"day": day})}
    sources = _source_order(config, runs, (value for _, _, kind, value, _ in kpis if kind == "source"))
    tiles = [_tile(metric, kpis, day) for metric in HEADLINE]
    title = f"{config.brand} CX report — {_long_date(day)}".strip()
    return {
        "day": day.isoformat(),
        "window": f"{_short_date(window_start)} – {_short_date(day)}",
        "title": title,
        "preheader": _preheader(tiles, day),
        "notices": _notices(sources, runs, day),
        "tiles": tiles,
        "by_source": _by_source(kpis, day, sources),
        "verbatims": {
            label: _verbatims(conn, label, window_start, day) for label in ("positive", "negative")
        },
        "quality": [_quality(source, runs.get(source), quarantined.get(source, 0)) for source in sources],
        "email": {
            "subject": f"{title}: {_preheader(tiles, day, short=True)}",
            "date": format_datetime(datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.timezone)),
        },
    }


def _read_kpis(conn: sa.Connection, day: date) -> dict[tuple, sa.Row]:
    """kpi_daily rows of the trend period keyed by (kpi_date, window_days, segment_type, segment_value, metric)."""
    params = {"start": day - timedelta(days=TREND_DAYS - 1), "day": day, "metrics": [m.name for m in HEADLINE]}
    return {
        (r.kpi_date, r.window_days, r.segment_type, r.segment_value, r.metric): r
        for r in conn.execute(_KPIS, params)
    }


def _source_order(config: PipelineConfig, runs: dict[str, Any], seen: Iterable[str]) -> list[str]:
    """Configured sources in config order, then any other source the day's data names."""
    configured = [s.name for s in config.sources]
    others = sorted((set(runs) | set(seen)) - set(configured))
    return configured + others


def _tile(metric: Metric, kpis: dict[tuple, sa.Row], day: date) -> dict[str, Any]:
    """One headline tile: the 7-day value with interval and n, the 1- and 28-day values, a trend."""
    row = kpis.get((day, WINDOW, "all", "all", metric.name))
    return {
        "metric": metric.name,
        "label": metric.label,
        "is_count": metric.is_count,
        "has_data": row is not None,
        "value": _value(metric, row),
        "interval": _interval(metric, row),
        "n": _n(metric, row),
        "day1": _value(metric, kpis.get((day, 1, "all", "all", metric.name))),
        "day28": _value(metric, kpis.get((day, 28, "all", "all", metric.name))),
        "trend": _trend(metric, kpis, day),
    }


def _value(metric: Metric, row: sa.Row | None) -> str:
    return metric.format(row.value) if row is not None else NO_DATA


def _n(metric: Metric, row: sa.Row | None) -> str | None:
    """The sample size, shown only where it is not the value itself (counts)."""
    return f"{row.sample_size:,}" if row is not None and not metric.is_count else None


def _interval(metric: Metric, row: sa.Row | None) -> str | None:
    if row is None or row.ci_low is None or row.ci_high is None:
        return None
    return f"{metric.pattern.format(row.ci_low)}–{metric.pattern.format(row.ci_high)}"


def _trend(metric: Metric, kpis: dict[tuple, sa.Row], day: date) -> dict[str, str] | None:
    """A sparkline of the 7-day value over the last 28 days (web page only), or None under 2 points."""
    series = []
    for i in range(TREND_DAYS):
        row = kpis.get((day - timedelta(days=TREND_DAYS - 1 - i), WINDOW, "all", "all", metric.name))
        if row is not None:
            series.append((i, row.value))
    if len(series) < 2:
        return None
    values = [v for _, v in series]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    x_step = SPARK_WIDTH / (TREND_DAYS - 1)
    points = " ".join(
        f"{i * x_step:.1f},{SPARK_HEIGHT - 2 - (v - low) / span * (SPARK_HEIGHT - 4):.1f}" for i, v in series
    )
    return {
        "points": points,
        "width": str(SPARK_WIDTH),
        "height": str(SPARK_HEIGHT),
        "label": f"{metric.label}, 7-day value over the last {TREND_DAYS} days: "
                 f"from {metric.format(values[0])} to {metric.format(values[-1])}, "
                 f"range {metric.format(low)} to {metric.format(high)}",
    }


def _preheader(tiles: list[dict[str, Any]], day: date, short: bool = False) -> str:
    """A one-line summary of the headline tiles that have data (the email's preview text)."""
    parts = []
    for tile in tiles:
        if not tile["has_data"]:
            continue
        parts.append(f"{tile['value']} {tile['label'].lower()}" if tile["is_count"]
                     else f"{tile['label']} {tile['value']}")
    if not parts:
        return "No feedback in the last 7 days"
    if short:
        return ", ".join(parts[:2]) + " (7 days)"
    return f"{', '.join(parts)} in the 7 days to {_short_date(day)}"


def _notices(sources: list[str], runs: dict[str, Any], day: date) -> list[dict[str, str]]:
    """Sources whose latest run for the day did not succeed, or that did not run at all."""
    notices = []
    for source in sources:
        run = runs.get(source)
        if run is None:
            notices.append({"source": source, "status": "not run", "message": f"no run recorded for {day}"})
        elif run.status != "success":
            notices.append({"source": source, "status": run.status, "message": run.message or ""})
    return notices


def _by_source(kpis: dict[tuple, sa.Row], day: date, sources: list[str]) -> dict[str, Any]:
    """Headline metrics (rows) by source (columns) for the 7-day window; metrics no source has are left out."""
    rows = []
    for metric in HEADLINE:
        cells = []
        for source in sources:
            row = kpis.get((day, WINDOW, "source", source, metric.name))
            cells.append({"value": _value(metric, row), "n": _n(metric, row)})
        if any(cell["value"] != NO_DATA for cell in cells):
            rows.append({"label": metric.label, "cells": cells})
    return {"sources": sources, "rows": rows}


def _verbatims(conn: sa.Connection, label: str, start: date, day: date) -> list[dict[str, str]]:
    """The most positive or most negative feedback of the window; text as stored (PII already redacted)."""
    params = {"start": start, "day": day, "limit": VERBATIM_LIMIT}
    return [
        {
            "source": row.source,
            "date": row.feedback_date.isoformat(),
            "score": f"{row.sentiment_score:+.2f}",
            "rating": f"{row.rating:g} / 5" if row.rating is not None else None,
            "nps": f"{row.nps:g}" if row.nps is not None else None,
            "text": _clip(row.text),
        }
        for row in conn.execute(_VERBATIMS[label], params)
    ]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= VERBATIM_CHARS else text[: VERBATIM_CHARS - 1].rstrip() + "…"


def _quality(source: str, run: Any, quarantined: int) -> dict[str, str]:
    """The row accounting of the source's latest run for the day ("—" where that run loaded nothing)."""
    accounted = run is not None and run.rows_in is not None
    counts = {
        column: f"{getattr(run, column):,}" if accounted else "—"
        for column in ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate")
    }
    return {
        "source": source,
        "status": run.status if run is not None else "not run",
        **counts,
        "in_quarantine": f"{quarantined:,}",
    }


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"

"""The report's content for one business day, read from the marts and the run log.

Every number is computed and formatted here, so the templates only place values and the web
page, the HTML email and the plain-text email cannot disagree. Each section comes from what its
table holds on the day: a section whose table is empty is an empty list and is not shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import format_datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipelines.config import PipelineConfig
from pipelines.enrich.pii import redact
from pipelines.kpis.change import Change, read_changes
from pipelines.report.charts import Chart

WINDOW = 7  # the headline window; 1 and 28 days are shown beside it
TREND_DAYS = 28
VERBATIM_LIMIT = 5
VERBATIM_CHARS = 600
LIST_LIMIT = 10
NO_DATA = "no data"
CUT_COLUMNS = ("location", "product")  # the fct_feedback columns a recipient's cut may filter on
FEEDBACK_SEGMENTS = ("source", *CUT_COLUMNS, "journey_stage", "touchpoint", "pyramid_level")
SEGMENT_DIMENSIONS = (("source", "By source"), ("product", "By product"), ("location", "By location"),
                      ("journey_stage", "By journey stage"))
PYRAMID = (("utility", "Utility — on time, in full, works, value"),
           ("usability", "Usability — ease, friction, effort"),
           ("pleasure", "Pleasure — emotion, delight"))


@dataclass(frozen=True)
class Metric:
    """How one metric is labelled and formatted (KPIS.md defines its value)."""

    name: str
    label: str
    pattern: str
    unit: str = ""
    is_count: bool = False

    def format(self, value: float) -> str:
        return self.pattern.format(value) + self.unit

    def format_delta(self, delta: float) -> str:
        return ("+" if delta > 0 else "−" if delta < 0 else "±") + self.pattern.format(abs(delta))


HEADLINE = (
    Metric("nps", "NPS", "{:.1f}"),
    Metric("csat", "CSAT", "{:.1f}", "%"),
    Metric("avg_rating", "Average rating", "{:.2f}", " / 5"),
    Metric("net_sentiment", "Net sentiment", "{:.1f}"),
    Metric("review_count", "Reviews", "{:,.0f}", is_count=True),
    Metric("mention_count", "Mentions", "{:,.0f}", is_count=True),
)
SEGMENT_METRICS = tuple(m for m in HEADLINE if not m.is_count)
REPLY = (Metric("reply_rate", "Reply rate", "{:.1f}", "%"), Metric("median_reply_hours", "Median time to reply",
                                                                    "{:.1f}", " h"))
VOICE = Metric("share_of_voice", "Share of voice", "{:.1f}", "%")
TREND_METRICS = ("nps", "net_sentiment", "avg_rating")
VOLUME = Metric("volume", "Volume", "{:,.0f}", " items")  # the anomaly stage's daily item count
METRICS = {m.name: m for m in (*HEADLINE, *REPLY, VOICE)}
IMPACT_METRICS = {"nps": Metric("nps", "NPS", "{:.1f}"), "avg_rating": Metric("avg_rating", "rating", "{:.2f}")}

_KPIS = sa.text(
    "select kpi_date, window_days, metric, segment_type, segment_value, value, sample_size, ci_low, ci_high "
    "from marts.kpi_daily "
    "where kpi_date between :start and :day and metric in :metrics "
    "and (segment_type in :types or (segment_type = :cut_type and segment_value = :cut_value))"
).bindparams(sa.bindparam("metrics", expanding=True), sa.bindparam("types", expanding=True))

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
_LAST_SUCCESS = sa.text(
    "select source, max(business_date) as last_success from ops.source_runs "
    "where status = 'success' and business_date <= :day group by source"
)
_QUARANTINE = sa.text(
    "select source, count(*) as quarantined from ops.quarantine where business_date = :day group by source"
)
_DRIFT = sa.text(
    "select source, file, change, column_name, detail from ops.schema_drift where business_date = :day "
    "order by source, file, change, column_name"
)
_VALIDATION = sa.text(
    "select source, expectation, column_name, severity, sum(unexpected_count) as unexpected "
    "from ops.validation_results where business_date = :day and not success "
    "group by source, expectation, column_name, severity order by source, expectation, column_name"
)
_THEMES = sa.text(
    "select window_days, theme, metric, impact, ci_low, ci_high, n_with, n_without from marts.theme_impact "
    "where kpi_date = :day order by theme, metric"
)
_EMERGING = sa.text(
    "select term, recent_count, baseline_count, lift from marts.emerging_terms where kpi_date = :day "
    "order by lift desc, recent_count desc, term limit :limit"
)
_ANOMALIES = sa.text(
    "select kpi_date, metric, segment_type, segment_value, value, baseline_mean, baseline_sd, z "
    "from marts.anomalies where kpi_date between :start and :day "
    "order by kpi_date desc, abs(z) desc, metric, segment_type, segment_value"
)
_WEAKEST = sa.text(
    "select dimension, spread, segments, weakest_value, weakest_net_sentiment from marts.channel_consistency "
    "where kpi_date = :day order by dimension"
)
_VERBATIM_COLUMNS = "f.feedback_id, f.source, f.feedback_date, f.text, f.sentiment_score, f.rating, f.nps"


def _cut_filter(cut: tuple[str, str] | None, alias: str = "f") -> str:
    """The SQL condition limiting fct_feedback to a recipient's cut (column from the allow-list)."""
    if cut is None:
        return ""
    if cut[0] not in FEEDBACK_SEGMENTS:
        raise ValueError(f"cannot filter feedback by {cut[0]!r}")
    return f" and {alias}.{cut[0]} = :cut_value"


def build_context(
    conn: sa.Connection, day: date, config: PipelineConfig, cut: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the templates show for business day `day`, formatted and in a stable order.

    `cut` = (location|product, value) limits the content to one segment: headline figures come
    from that segment's kpi_daily rows and feedback lists from its items; sections that exist
    only for the whole business (themes, segment tables, share of voice) are left empty.
    Nothing depends on the wall clock, so the same warehouse state gives the same report.
    """
    window_start = day - timedelta(days=WINDOW - 1)
    segment = cut or ("all", "all")
    kpis = _read_kpis(conn, day, segment, whole=cut is None)
    changes = read_changes(conn, day, WINDOW, [m.name for m in HEADLINE], segment)
    runs = {row.source: row for row in conn.execute(_SOURCE_RUNS, {"day": day})}
    sources = _source_order(config, runs, (key[3] for key in kpis if key[2] == "source"))
    tiles = [_tile(metric, kpis, day, segment, changes.get(metric.name)) for metric in HEADLINE]
    scope = f" — {cut[1]}" if cut else ""
    title = f"{config.brand} CX report{scope} — {_long_date(day)}".strip()
    charts = [Chart(**t.pop("spark")) for t in tiles if t["spark"]]
    trends = _trends(kpis, day, segment)
    pyramid = _pyramid(conn, window_start, day, cut)
    anomalies = _anomalies(conn, window_start, day, cut)
    context = {
        "day": day.isoformat(),
        "window": f"{_short_date(window_start)} – {_short_date(day)}",
        "title": title,
        "cut": f"{cut[0]} {cut[1]}" if cut else None,
        "preheader": _preheader(tiles, day),
        "notices": _notices(conn, sources, runs, day),
        "tiles": tiles,
        "trends": [chart.name for chart in trends],
        "segments": [] if cut else _segments(kpis, day, sources),
        "pyramid": pyramid,
        "themes": [] if cut else _themes(conn, day),
        "emerging": [] if cut else _emerging(conn, day),
        "anomalies": anomalies,
        "verbatims": {label: _verbatims(conn, label, window_start, day, cut) for label in ("positive", "negative")},
        "replies": _figures(REPLY, kpis, day, segment),
        "voice": [] if cut else _figures((VOICE,), kpis, day, segment),
        "close_loop": _close_loop(conn, day, cut),
        "quality": _quality(conn, day, sources, runs),
        "charts": [*charts, *trends, *([pyramid["chart"]] if pyramid else [])],
        "email": {
            "subject": f"{title}: {_preheader(tiles, day, short=True)}",
            "date": format_datetime(datetime.combine(day + timedelta(days=1), time(0), tzinfo=config.timezone)),
        },
    }
    if pyramid:
        pyramid["chart"] = pyramid["chart"].name
    return context


def _read_kpis(conn: sa.Connection, day: date, segment: tuple[str, str], whole: bool) -> dict[tuple, sa.Row]:
    """kpi_daily rows of the trend period keyed by (kpi_date, window_days, segment_type, segment_value, metric)."""
    types = ["all", *(d for d, _ in SEGMENT_DIMENSIONS)] if whole else ["-"]
    params = {"start": day - timedelta(days=TREND_DAYS - 1), "day": day, "metrics": sorted(METRICS),
              "types": types, "cut_type": segment[0], "cut_value": segment[1]}
    return {
        (r.kpi_date, r.window_days, r.segment_type, r.segment_value, r.metric): r
        for r in conn.execute(_KPIS, params)
    }


def _source_order(config: PipelineConfig, runs: dict[str, Any], seen: Iterable[str]) -> list[str]:
    """Configured sources in config order, then any other source the day's data names."""
    configured = [s.name for s in config.sources]
    others = sorted((set(runs) | set(seen)) - set(configured))
    return configured + others


def _tile(metric: Metric, kpis: dict[tuple, sa.Row], day: date, segment: tuple[str, str],
          change: Change | None) -> dict[str, Any]:
    """One headline tile: the 7-day value with interval, n and change, the 1- and 28-day values, a sparkline."""
    row = kpis.get((day, WINDOW, *segment, metric.name))
    series = _series(kpis, day, segment, metric.name)
    spark = None
    if len(series) >= 2:
        values = [r.value for _, r in series]
        spark = {
            "name": f"spark_{metric.name}", "kind": "spark", "width": 160, "height": 36,
            "values": tuple(values),
            "alt": f"{metric.label}, 7-day value over the last {TREND_DAYS} days: from {metric.format(values[0])} "
                   f"to {metric.format(values[-1])}, range {metric.format(min(values))} to "
                   f"{metric.format(max(values))}",
        }
    return {
        "metric": metric.name,
        "label": metric.label,
        "is_count": metric.is_count,
        "has_data": row is not None,
        "value": _value(metric, row),
        "interval": _interval(metric, row),
        "n": _n(metric, row),
        "change": _change(metric, change),
        "day1": _value(metric, kpis.get((day, 1, *segment, metric.name))),
        "day28": _value(metric, kpis.get((day, 28, *segment, metric.name))),
        "spark": spark,
        "chart": spark["name"] if spark else None,
    }


def _series(kpis: dict[tuple, sa.Row], day: date, segment: tuple[str, str], metric: str) -> list[tuple[date, Any]]:
    """The 7-day rows of `metric` over the trend period, oldest first, days without a row skipped."""
    days = (day - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS))
    return [(d, kpis[key]) for d in days if (key := (d, WINDOW, *segment, metric)) in kpis]


def _change(metric: Metric, change: Change | None) -> dict[str, Any] | None:
    """The change against the previous 7 days; `significant` only when p < 0.05 (KPIS.md)."""
    if change is None:
        return None
    direction = "up" if change.delta > 0 else "down" if change.delta < 0 else "flat"
    if change.p_value is None:
        note = "no test"
    elif change.significant:
        note = "significant, p < 0.001" if change.p_value < 0.001 else f"significant, p = {change.p_value:.3f}"
    else:
        note = f"not significant, p = {change.p_value:.2f}"
    return {"delta": metric.format_delta(change.delta), "direction": direction,
            "significant": change.significant, "note": note}


def _value(metric: Metric, row: sa.Row | None) -> str:
    return metric.format(row.value) if row is not None else NO_DATA


def _n(metric: Metric, row: sa.Row | None) -> str | None:
    """The sample size, shown only where it is not the value itself (counts)."""
    return f"{row.sample_size:,}" if row is not None and not metric.is_count else None


def _interval(metric: Metric, row: sa.Row | None) -> str | None:
    if row is None or _missing(row.ci_low) or _missing(row.ci_high):
        return None
    return f"{metric.pattern.format(row.ci_low)}–{metric.pattern.format(row.ci_high)}"


def _missing(value: float | None) -> bool:
    return value is None or value != value  # NaN is not equal to itself


def _trends(kpis: dict[tuple, sa.Row], day: date, segment: tuple[str, str]) -> list[Chart]:
    """Line charts of the 7-day value with its interval band over the last 28 days (≥ 2 points)."""
    charts = []
    for name in TREND_METRICS:
        metric, series = METRICS[name], _series(kpis, day, segment, name)
        if len(series) < 2:
            continue
        values = [r.value for _, r in series]
        charts.append(Chart(
            name=f"trend_{name}", kind="trend", width=600, height=200, title=f"{metric.label}, 7-day value",
            labels=tuple(f"{d.day} {d:%b}" for d, _ in series), values=tuple(values),
            lows=tuple(None if _missing(r.ci_low) else r.ci_low for _, r in series),
            highs=tuple(None if _missing(r.ci_high) else r.ci_high for _, r in series),
            alt=f"{metric.label}, 7-day value from {series[0][0]:%d %b} to {series[-1][0]:%d %b}: "
                f"from {metric.format(values[0])} to {metric.format(values[-1])}, lowest {metric.format(min(values))}, "
                f"highest {metric.format(max(values))}",
        ))
    return charts


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


def _notices(conn: sa.Connection, sources: list[str], runs: dict[str, Any], day: date) -> list[dict[str, str]]:
    """Sources whose latest run for the day did not succeed or that did not run, with their last good day."""
    last_ok = {r.source: r.last_success for r in conn.execute(_LAST_SUCCESS, {"day": day})}
    notices = []
    for source in sources:
        run = runs.get(source)
        if run is not None and run.status == "success":
            continue
        status, message = ("not run", f"no run recorded for {day}") if run is None else (run.status, run.message or "")
        ok = last_ok.get(source)
        fresh = f"last loaded {ok.isoformat()}" if ok else "never loaded"
        notices.append({"source": source, "status": status, "message": message, "freshness": fresh})
    return notices


def _segments(kpis: dict[tuple, sa.Row], day: date, sources: list[str]) -> list[dict[str, Any]]:
    """Per dimension, a table of segment rows × headline metrics (7 days); dimensions without rows are left out."""
    tables = []
    for dimension, heading in SEGMENT_DIMENSIONS:
        present = {key[3] for key in kpis if key[0] == day and key[1] == WINDOW and key[2] == dimension}
        if not present:
            continue
        order = [s for s in sources if s in present] if dimension == "source" else sorted(present)
        rows = []
        for value in order:
            cells = []
            for metric in SEGMENT_METRICS:
                row = kpis.get((day, WINDOW, dimension, value, metric.name))
                cells.append({"value": _value(metric, row), "n": _n(metric, row)})
            rows.append({"label": value.replace("_", " ") if dimension == "journey_stage" else value, "cells": cells})
        tables.append({"dimension": dimension, "heading": heading,
                       "columns": [m.label for m in SEGMENT_METRICS], "rows": rows})
    return tables


def _pyramid(conn: sa.Connection, start: date, day: date, cut: tuple[str, str] | None) -> dict[str, Any] | None:
    """Share and net sentiment of feedback per CX-pyramid level, and whether utility complaints dominate.

    "Foundations first" is flagged when more than half of the level-tagged negative feedback
    is at the utility level: fix on time, in full, works and value before working on delight.
    """
    sql = sa.text(
        "select f.pyramid_level as level, count(*) as n, "
        "sum(case when f.sentiment_label = 'positive' then 1 else 0 end) as positive, "
        "sum(case when f.sentiment_label = 'negative' then 1 else 0 end) as negative "
        "from marts.fct_feedback as f where f.feedback_date between :start and :day "
        f"and f.pyramid_level is not null{_cut_filter(cut)} group by f.pyramid_level"
    )
    counts = {r.level: r for r in conn.execute(sql, {"start": start, "day": day, "cut_value": cut and cut[1]})}
    total = sum(int(r.n) for r in counts.values())
    if not total:
        return None
    complaints = sum(int(r.negative) for r in counts.values())
    rows, labels, nets = [], [], []
    for level, label in PYRAMID:
        r = counts.get(level)
        if r is None:
            continue
        n, pos, neg = int(r.n), int(r.positive), int(r.negative)
        net = 100 * (pos - neg) / n
        rows.append({"level": level, "label": label, "n": f"{n:,}", "share": f"{100 * n / total:.1f}%",
                     "net_sentiment": f"{net:.1f}",
                     "complaints": f"{100 * neg / complaints:.1f}%" if complaints else "—"})
        labels.append(level.capitalize())
        nets.append(net)
    utility = counts.get("utility")
    utility_share = int(utility.negative) / complaints if utility is not None and complaints else 0.0
    chart = Chart(name="pyramid", kind="bars", width=600, height=60 + 36 * len(rows),
                  title="Net sentiment by CX-pyramid level", labels=tuple(labels), values=tuple(nets),
                  alt="Net sentiment by CX-pyramid level: " + ", ".join(
                      f"{lab} {net:.1f}" for lab, net in zip(labels, nets, strict=True)))
    return {"rows": rows, "foundations_first": utility_share > 0.5,
            "utility_complaints": f"{100 * utility_share:.0f}%", "chart": chart}


def _themes(conn: sa.Connection, day: date) -> list[dict[str, str]]:
    """Themes by the size of their impact on NPS or rating, from the headline window when it has rows."""
    rows = list(conn.execute(_THEMES, {"day": day}))
    windows = {r.window_days for r in rows}
    chosen = next((w for w in (WINDOW, 28, 1) if w in windows), None)
    ranked = sorted((r for r in rows if r.window_days == chosen), key=lambda r: (-abs(r.impact), r.theme, r.metric))
    out = []
    for r in ranked[:LIST_LIMIT]:
        metric = IMPACT_METRICS[r.metric]
        interval = None if _missing(r.ci_low) or _missing(r.ci_high) else (
            f"{metric.format_delta(r.ci_low)} to {metric.format_delta(r.ci_high)}")
        out.append({"theme": r.theme.replace("_", " "), "metric": metric.label, "window": f"{chosen} days",
                    "impact": metric.format_delta(r.impact), "interval": interval,
                    "direction": "lifts" if r.impact > 0 else "drags" if r.impact < 0 else "neutral",
                    "n_with": f"{r.n_with:,}"})
    return out


def _emerging(conn: sa.Connection, day: date) -> list[dict[str, str]]:
    return [{"term": r.term, "recent": f"{r.recent_count:,}", "baseline": f"{r.baseline_count:,}",
             "lift": f"×{r.lift:.1f}"} for r in conn.execute(_EMERGING, {"day": day, "limit": LIST_LIMIT})]


def _anomalies(conn: sa.Connection, start: date, day: date, cut: tuple[str, str] | None) -> list[dict[str, Any]]:
    """Anomalies of the headline window, each with the feedback of its day and segment that drives it."""
    out = []
    for r in conn.execute(_ANOMALIES, {"start": start, "day": day}):
        if cut is not None and (r.segment_type, r.segment_value) != cut:
            continue
        metric = VOLUME if r.metric == VOLUME.name else METRICS.get(r.metric)
        fmt = metric.format if metric else "{:.1f}".format
        scope = (r.segment_type, r.segment_value) if r.segment_type in FEEDBACK_SEGMENTS else None
        tone = "positive" if r.metric == "net_sentiment" and r.value > r.baseline_mean else "negative"
        out.append({
            "date": r.kpi_date.isoformat(),
            "metric": metric.label if metric else r.metric.replace("_", " "),
            "segment": "all feedback" if r.segment_type == "all" else f"{r.segment_type} {r.segment_value}",
            "value": fmt(r.value), "baseline": f"{fmt(r.baseline_mean)} ± {fmt(3 * r.baseline_sd)}",
            "z": f"{r.z:+.1f}", "direction": "above" if r.value > r.baseline_mean else "below",
            "verbatims": _verbatims(conn, tone, r.kpi_date, r.kpi_date, scope, limit=3),
        })
        if len(out) == LIST_LIMIT:
            break
    return out


def _verbatims(conn: sa.Connection, label: str, start: date, day: date, cut: tuple[str, str] | None,
               limit: int = VERBATIM_LIMIT) -> list[dict[str, str]]:
    """The most positive or most negative feedback of the period, PII-redacted again before showing."""
    direction = "desc" if label == "positive" else "asc"
    where = _cut_filter(cut)
    sql = sa.text(
        f"select {_VERBATIM_COLUMNS} from marts.fct_feedback as f "
        f"where f.feedback_date between :start and :day and f.sentiment_label = :label{where} "
        f"order by f.sentiment_score {direction}, f.feedback_id limit :limit"
    )
    params = {"start": start, "day": day, "label": label, "limit": limit, "cut_value": cut and cut[1]}
    rows = list(conn.execute(sql, params))
    texts = _redact([row.text for row in rows])
    return [
        {
            "source": row.source,
            "date": row.feedback_date.isoformat(),
            "score": f"{row.sentiment_score:+.2f}",
            "rating": f"{row.rating:g} / 5" if row.rating is not None else None,
            "nps": f"{row.nps:g}" if row.nps is not None else None,
            "text": text,
        }
        for row, text in zip(rows, texts, strict=True)
    ]


def _redact(texts: list[str | None]) -> list[str]:
    """Customer text as shown: redacted (again, in case a mart was filled another way) and clipped."""
    if not texts:
        return []
    return [_clip(t) for t in redact(pd.Series(texts, dtype="string")).fillna("").tolist()]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= VERBATIM_CHARS else text[: VERBATIM_CHARS - 1].rstrip() + "…"


def _figures(metrics: Iterable[Metric], kpis: dict[tuple, sa.Row], day: date,
             segment: tuple[str, str]) -> list[dict[str, Any]]:
    """Headline-style figures (7 days, with 28 days beside) for the metrics that have data."""
    out = []
    for metric in metrics:
        row = kpis.get((day, WINDOW, *segment, metric.name))
        if row is None:
            continue
        out.append({"label": metric.label, "value": _value(metric, row), "interval": _interval(metric, row),
                    "n": _n(metric, row), "day28": _value(metric, kpis.get((day, 28, *segment, metric.name)))})
    return out


def _close_loop(conn: sa.Connection, day: date, cut: tuple[str, str] | None) -> dict[str, Any]:
    """Customers at risk for the support lead, and the weakest source and touchpoint (28 days)."""
    sql = sa.text(
        "select r.customer_hash, r.source, r.occurred_at, r.text, r.url, r.reason "
        "from marts.customers_at_risk as r "
        + ("join marts.fct_feedback as f on f.feedback_id = r.feedback_id " if cut else "")
        + "where r.kpi_date = :day" + _cut_filter(cut)
        + " order by r.occurred_at desc, r.customer_hash limit :limit"
    )
    rows = list(conn.execute(sql, {"day": day, "limit": LIST_LIMIT * 2, "cut_value": cut and cut[1]}))
    texts = _redact([r.text for r in rows])
    customers = [{"customer": r.customer_hash[:12], "source": r.source, "date": f"{r.occurred_at:%Y-%m-%d}",
                  "reason": r.reason, "text": text, "url": r.url if r.url and r.url.startswith("https://") else None}
                 for r, text in zip(rows, texts, strict=True)]
    weakest = [] if cut else [
        {"dimension": r.dimension, "value": r.weakest_value, "net_sentiment": f"{r.weakest_net_sentiment:.1f}",
         "spread": f"{r.spread:.1f}", "segments": f"{r.segments:,}"}
        for r in conn.execute(_WEAKEST, {"day": day})
    ]
    return {"customers": customers, "weakest": weakest}


def _quality(conn: sa.Connection, day: date, sources: list[str], runs: dict[str, Any]) -> dict[str, Any]:
    """The data-quality footer: row accounting and freshness per source, schema drift, failed checks."""
    quarantined = {row.source: int(row.quarantined) for row in conn.execute(_QUARANTINE, {"day": day})}
    last_ok = {r.source: r.last_success for r in conn.execute(_LAST_SUCCESS, {"day": day})}
    rows = []
    for source in sources:
        run = runs.get(source)
        accounted = run is not None and run.rows_in is not None
        counts = {
            column: f"{getattr(run, column):,}" if accounted else "—"
            for column in ("rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate")
        }
        ok = last_ok.get(source)
        rows.append({
            "source": source,
            "status": run.status if run is not None else "not run",
            **counts,
            "in_quarantine": f"{quarantined.get(source, 0):,}",
            "last_success": ok.isoformat() if ok else "never",
        })
    drift = [{"source": r.source, "file": r.file.rsplit("/", 1)[-1], "change": r.change, "column": r.column_name,
              "detail": r.detail or ""} for r in conn.execute(_DRIFT, {"day": day})]
    checks = [{"source": r.source, "expectation": r.expectation, "column": r.column_name or "—",
               "severity": r.severity, "unexpected": f"{int(r.unexpected or 0):,}"}
              for r in conn.execute(_VALIDATION, {"day": day})]
    return {"sources": rows, "drift": drift, "checks": checks}


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _short_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"

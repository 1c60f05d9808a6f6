"""Metric values and 95% intervals from additive sufficient statistics (KPIS.md).

The warehouse aggregates (sql/marts/kpi_inputs.sql); this module turns those small aggregates
into values and intervals, vectorised over every (date, window, segment) at once. Medians do not
add up, so the reply-time medians are taken here from the replied reviews themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd

Z = 1.959964
WINDOWS = (1, 7, 28)  # days in a kpi window, ending on its kpi date
KPI_COLUMNS = [
    "kpi_date", "window_days", "metric", "segment_type", "segment_value",
    "value", "sample_size", "ci_low", "ci_high",
]
KEYS = ["kpi_date", "window_days", "segment_type", "segment_value"]
# the segment types a replied review is counted in by its own column, beside all, family and theme
REPLY_SEGMENTS = ("source", "product", "location", "journey_stage", "touchpoint", "pyramid_level")


def wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share 100·k/n and its Wilson interval, as percentages."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z * np.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / denom
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def net_score(pos: np.ndarray, neg: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """100·(P − D)/n with the Wald interval for a difference of multinomial shares, clipped."""
    pos, neg, n = (np.asarray(a, float) for a in (pos, neg, n))
    p, d = pos / n, neg / n
    value = 100 * (p - d)
    half = 100 * Z * np.sqrt(np.maximum(p + d - (p - d) ** 2, 0) / n)
    return value, np.clip(value - half, -100, 100), np.clip(value + half, -100, 100)


def mean_interval(s1: np.ndarray, s2: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and mean ± z·s/√n (sample sd); the interval is null when n < 2."""
    s1, s2, n = (np.asarray(a, float) for a in (s1, s2, n))
    mean = s1 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.maximum(s2 - s1 * s1 / n, 0) / (n - 1)
        half = Z * np.sqrt(var) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return mean, mean - half, mean + half


def _frame(base: pd.DataFrame, metric: str, value, n, low=None, high=None) -> pd.DataFrame:
    out = base[KEYS].copy()
    out["metric"] = metric
    out["value"] = np.asarray(value, float)
    out["sample_size"] = np.asarray(n, "int64")
    out["ci_low"] = np.nan if low is None else np.asarray(low, float)
    out["ci_high"] = np.nan if high is None else np.asarray(high, float)
    return out


def compute_metrics(stats: pd.DataFrame, medians: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every metric row of `marts.kpi_daily` from the kpi_inputs statistics (n = 0 rows absent)."""
    parts: list[pd.DataFrame] = []
    by_stat = {name: g for name, g in stats.groupby("stat", sort=False)}

    def add(stat: str, build) -> None:
        group = by_stat.get(stat)
        if group is not None and len(group):
            parts.extend(build(group))

    add("nps", lambda g: [
        _frame(g, "nps", *_order(net_score(g.k1, g.k2, g.n), g.n)),
        _frame(g, "promoter_share", *_order(wilson(g.k1, g.n), g.n)),
        _frame(g, "detractor_share", *_order(wilson(g.k2, g.n), g.n)),
    ])
    add("csat", lambda g: [
        _frame(g, "csat", *_order(wilson(g.k1, g.n), g.n)),
        _frame(g, "csat_mean", *_order(mean_interval(g.s1, g.s2, g.n), g.n)),
    ])
    add("ces", lambda g: [
        _frame(g, "ces", *_order(mean_interval(g.s1, g.s2, g.n), g.n)),
        _frame(g, "ces_easy_share", *_order(wilson(g.k1, g.n), g.n)),
    ])
    add("rating", lambda g: [
        _frame(g, "avg_rating", *_order(mean_interval(g.s1, g.s2, g.n), g.n)),
        *(_frame(g, f"rating_share_{k}", *_order(wilson(g[f"k{k}"], g.n), g.n)) for k in range(1, 6)),
    ])
    add("review", lambda g: [
        _frame(g, "review_count", g.n, g.n),
        _frame(g, "reply_rate", *_order(wilson(g.k1, g.n), g.n)),
    ])
    add("mention", lambda g: [_frame(g, "mention_count", g.n, g.n)])
    add("response", lambda g: [_frame(g, "response_count", g.n, g.n)])
    add("voice", lambda g: [_frame(g, "share_of_voice", *_order(wilson(g.k1, g.n), g.n))])
    add("sentiment", lambda g: [
        _frame(g, "positive_share", *_order(wilson(g.k1, g.n), g.n)),
        _frame(g, "negative_share", *_order(wilson(g.k2, g.n), g.n)),
        _frame(g, "net_sentiment", *_order(net_score(g.k1, g.k2, g.n), g.n)),
    ])
    if medians is not None and len(medians):
        parts.append(_frame(medians, "median_reply_hours", medians.value, medians.n))
    if not parts:
        return pd.DataFrame(columns=KPI_COLUMNS)
    out = pd.concat(parts, ignore_index=True)[KPI_COLUMNS]
    return out.sort_values(["kpi_date", "window_days", "metric", "segment_type", "segment_value"],
                           ignore_index=True)


def window_medians(replied: pd.DataFrame, themes: pd.DataFrame, dates: list[date]) -> pd.DataFrame:
    """The median reply time (`value`) and replied reviews (`n`) of every window ending on `dates`,
    per segment, from the replied reviews (`feedback_date`, `reply_hours` and the REPLY_SEGMENTS
    columns) and their themes (`feedback_date`, `theme`, `reply_hours`), each frame sorted by date.

    A segment's values stay in date order, so each window is a slice of them: no review is copied
    into the 36 windows that hold it, as a SQL median over windows did (over 2 GB in one statement
    for 15 kpi dates at a large brand's volume). The median is that of percentile_cont(0.5): the
    middle value, or the mean of the two middle ones.
    """
    ends = np.array(dates, dtype="datetime64[D]")
    rows = []
    for segment_type, segment_value, days, values in _reply_segments(replied, themes):
        last = np.searchsorted(days, ends, side="right")
        for window in WINDOWS:
            first = np.searchsorted(days, ends - np.timedelta64(window - 1, "D"), side="left")
            for kpi_date, a, b in zip(dates, first, last, strict=True):
                if b > a:
                    rows.append((kpi_date, window, segment_type, segment_value, float(np.median(values[a:b])), b - a))
    return pd.DataFrame(rows, columns=[*KEYS, "value", "n"])


def _reply_segments(replied: pd.DataFrame, themes: pd.DataFrame) -> Iterator[tuple[str, str, np.ndarray, np.ndarray]]:
    """(segment type, segment value, days, reply hours) of every segment, in date order."""
    days, hours = as_days(replied.feedback_date), replied.reply_hours.to_numpy(float)
    yield "all", "all", days, hours
    yield "family", "review", days, hours
    for column in REPLY_SEGMENTS:  # rows without a value belong to no segment of the column
        for value, rows in replied.groupby(column, sort=True).indices.items():
            yield column, value, days[rows], hours[rows]
    days, hours = as_days(themes.feedback_date), themes.reply_hours.to_numpy(float)
    for value, rows in themes.groupby("theme", sort=True).indices.items():
        yield "theme", value, days[rows], hours[rows]


def as_days(column: pd.Series) -> np.ndarray:
    """A column of dates as numpy days (pandas converts a million dates 15 times faster than numpy
    or a loop in Python)."""
    return pd.to_datetime(column).to_numpy().astype("datetime64[D]")


def _order(triple: tuple, n) -> tuple:
    """(value, low, high) and n, in the order `_frame` takes them."""
    value, low, high = triple
    return value, n, low, high

"""Change against the previous window of equal length, with a two-sided test (KPIS.md).

The tests need only what marts.kpi_daily already holds for the two windows (value, sample size,
interval), so no item-level data is read again:

- shares (a percentage of n): two-proportion z-test with the pooled proportion;
- means: Welch's t-test, the standard error recovered from the interval (half-width = z·s/√n);
- `nps` and `net_sentiment`: z-test with the multinomial variance (p + d − (p − d)²)/n, p and d
  read from the component shares of the same window;
- counts: the two windows have equal length, so counts are compared as Poisson rates,
  z = (c₁ − c₀)/√(c₁ + c₀).

A change is called out (`significant`) only when p < 0.05.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from scipy.stats import t as student_t

from pipelines.kpis.stats import Z

ALPHA = 0.05

# which test each metric takes; metrics absent here get a change but no test
SHARES = frozenset({
    "promoter_share", "detractor_share", "csat", "ces_easy_share", "reply_rate", "share_of_voice",
    "positive_share", "negative_share", *(f"rating_share_{k}" for k in range(1, 6)),
})
MEANS = frozenset({"csat_mean", "ces", "avg_rating"})
COUNTS = frozenset({"review_count", "mention_count", "response_count"})
NETS: dict[str, tuple[str, str]] = {
    "nps": ("promoter_share", "detractor_share"),
    "net_sentiment": ("positive_share", "negative_share"),
}


@dataclass(frozen=True)
class Observation:
    """One kpi_daily value with what its test needs; `parts` are the (positive, negative) shares of a net score."""

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    parts: tuple[float, float] | None = None


@dataclass(frozen=True)
class Change:
    """The change of one metric between two windows of equal length and its two-sided p-value."""

    metric: str
    current: float
    previous: float
    test: str | None
    p_value: float | None

    @property
    def delta(self) -> float:
        return self.current - self.previous

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA


def compare(metric: str, current: Observation, previous: Observation) -> Change:
    """The change from `previous` to `current` with the test KPIS.md assigns to `metric`."""
    test, p_value = None, None
    if metric in SHARES:
        test, p_value = "two-proportion z", two_proportion_p(current, previous)
    elif metric in MEANS:
        test, p_value = "Welch t", welch_p(current, previous)
    elif metric in NETS:
        test, p_value = "net-score z", net_score_p(current, previous)
    elif metric in COUNTS:
        test, p_value = "Poisson z", poisson_p(current.value, previous.value)
    return Change(metric, current.value, previous.value, test, p_value)


def _two_sided_normal(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_p(a: Observation, b: Observation) -> float | None:
    """Pooled two-proportion z-test on shares given in percent; None when n is 0."""
    if a.n <= 0 or b.n <= 0:
        return None
    k_a, k_b = a.value / 100 * a.n, b.value / 100 * b.n
    pooled = (k_a + k_b) / (a.n + b.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
    if se == 0:
        return 1.0  # both windows all-or-nothing and equal: no difference to test
    return _two_sided_normal((a.value - b.value) / 100 / se)


def _mean_se(o: Observation) -> float | None:
    if o.n < 2 or o.ci_low is None or o.ci_high is None or math.isnan(o.ci_low) or math.isnan(o.ci_high):
        return None
    return (o.ci_high - o.ci_low) / 2 / Z


def welch_p(a: Observation, b: Observation) -> float | None:
    """Welch's t-test from each window's mean, n and interval; None when a window has no interval."""
    se_a, se_b = _mean_se(a), _mean_se(b)
    if se_a is None or se_b is None:
        return None
    var = se_a**2 + se_b**2
    if var == 0:
        return 1.0 if a.value == b.value else 0.0
    t = (a.value - b.value) / math.sqrt(var)
    df = var**2 / (se_a**4 / (a.n - 1) + se_b**4 / (b.n - 1))
    return float(2 * student_t.sf(abs(t), df))


def net_score_p(a: Observation, b: Observation) -> float | None:
    """z-test on a net score (points in [−100, 100]) with the multinomial variance of each window."""
    if a.parts is None or b.parts is None or a.n <= 0 or b.n <= 0:
        return None

    def variance(o: Observation) -> float:
        p, d = (share / 100 for share in o.parts)  # type: ignore[union-attr]
        return max(p + d - (p - d) ** 2, 0.0) / o.n

    se = 100 * math.sqrt(variance(a) + variance(b))
    if se == 0:
        return 1.0 if a.value == b.value else 0.0
    return _two_sided_normal((a.value - b.value) / se)


def poisson_p(current: float, previous: float) -> float | None:
    """Two counts over windows of equal length compared as Poisson rates (normal approximation)."""
    total = current + previous
    if total <= 0:
        return None
    return _two_sided_normal((current - previous) / math.sqrt(total))


_ROWS = sa.text(
    "select kpi_date, metric, value, sample_size, ci_low, ci_high from marts.kpi_daily "
    "where kpi_date in (:day, :before) and window_days = :window and segment_type = :segment_type "
    "and segment_value = :segment_value and metric in :metrics"
).bindparams(sa.bindparam("metrics", expanding=True))


def read_changes(
    conn: sa.Connection, day: date, window: int, metrics: list[str], segment: tuple[str, str] = ("all", "all"),
) -> dict[str, Change]:
    """The change of each metric from the window ending `day − window` to the one ending `day`.

    Metrics without a row in either window are left out (n = 0 rows are absent, not zero).
    """
    wanted = set(metrics) | {part for m in metrics for part in NETS.get(m, ())}
    params = {"day": day, "before": day - timedelta(days=window), "window": window,
              "segment_type": segment[0], "segment_value": segment[1], "metrics": sorted(wanted)}
    rows = {(r.kpi_date, r.metric): r for r in conn.execute(_ROWS, params)}

    def observation(when: date, metric: str) -> Observation | None:
        row = rows.get((when, metric))
        if row is None:
            return None
        parts = None
        if metric in NETS:
            pos, neg = (rows.get((when, part)) for part in NETS[metric])
            parts = (pos.value, neg.value) if pos is not None and neg is not None else None
        return Observation(row.value, int(row.sample_size), row.ci_low, row.ci_high, parts)

    changes = {}
    for metric in metrics:
        current, previous = observation(day, metric), observation(params["before"], metric)
        if current is not None and previous is not None:
            changes[metric] = compare(metric, current, previous)
    return changes

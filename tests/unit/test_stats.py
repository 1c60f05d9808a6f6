"""Intervals and metric values against hand-computed figures (KPIS.md)."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipelines.kpis.stats import compute_metrics, mean_interval, net_score, wilson, window_medians

Z = 1.959964


def test_wilson_eight_of_ten():
    # p = 0.8, z² = 3.841459: centre 0.716736, half-width 0.226578 (worked by hand)
    value, low, high = wilson(np.array([8]), np.array([10]))
    assert value[0] == pytest.approx(80.0)
    assert low[0] == pytest.approx(49.0158, abs=1e-3)
    assert high[0] == pytest.approx(94.3314, abs=1e-3)


def test_wilson_extremes_stay_inside_0_100():
    value, low, high = wilson(np.array([0, 1]), np.array([1, 1]))
    assert list(value) == [0.0, 100.0]
    assert low[0] == pytest.approx(0.0, abs=1e-12) and high[1] == pytest.approx(100.0, abs=1e-12)
    assert 0 < high[0] < 100 and 0 < low[1] < 100


def test_nps_with_passives():
    # 10, 9, 9, 10 promoters; 6, 5, 3, 0 detractors; 8, 7 passives -> NPS 0
    value, low, high = net_score(np.array([4]), np.array([4]), np.array([10]))
    half = 100 * Z * math.sqrt((0.4 + 0.4 - 0.0) / 10)
    assert value[0] == pytest.approx(0.0)
    assert (low[0], high[0]) == pytest.approx((-half, half))
    assert half == pytest.approx(55.4362, abs=1e-3)


def test_nps_one_promoter_and_all_detractors():
    value, low, high = net_score(np.array([1, 0]), np.array([0, 3]), np.array([1, 3]))
    assert list(value) == [100.0, -100.0]
    assert (low[0], high[0]) == (100.0, 100.0)
    assert (low[1], high[1]) == (-100.0, -100.0)


def test_nps_no_passives_clipped():
    value, low, high = net_score(np.array([5, 2]), np.array([5, 0]), np.array([10, 2]))
    assert value[0] == 0.0
    assert high[0] == pytest.approx(100 * Z * math.sqrt(1 / 10))
    # 2 of 2 promoters: value 100, variance 0 -> interval collapses at the clip
    assert (value[1], low[1], high[1]) == (100.0, 100.0, 100.0)


def test_mean_interval_and_n_of_one():
    # ratings 5, 4, 4, 1: mean 3.5, sample variance 9/3 = 3
    mean, low, high = mean_interval(np.array([14.0, 4.0]), np.array([58.0, 16.0]), np.array([4, 1]))
    half = Z * math.sqrt(3) / 2
    assert mean[0] == 3.5 and (low[0], high[0]) == pytest.approx((3.5 - half, 3.5 + half))
    assert mean[1] == 4.0 and math.isnan(low[1]) and math.isnan(high[1])


def _stats(rows):
    cols = ["kpi_date", "window_days", "segment_type", "segment_value", "stat",
            "n", "k1", "k2", "k3", "k4", "k5", "s1", "s2"]
    return pd.DataFrame(rows, columns=cols)


def test_compute_metrics_names_values_and_counts():
    d = pd.Timestamp("2026-03-02").date()
    stats = _stats([
        (d, 1, "all", "all", "nps", 10, 4, 4, 0, 0, 0, 62.0, 0.0),
        (d, 1, "all", "all", "rating", 4, 1, 0, 0, 2, 1, 14.0, 58.0),
        (d, 1, "all", "all", "review", 4, 1, 0, 0, 0, 0, 0, 0),
        (d, 1, "all", "all", "mention", 7, 0, 0, 0, 0, 0, 0, 0),
        (d, 1, "all", "all", "csat", 10, 8, 0, 0, 0, 0, 40.0, 170.0),
    ])
    rows = compute_metrics(stats).set_index("metric")
    assert rows.loc["nps", "value"] == 0.0 and rows.loc["nps", "sample_size"] == 10
    assert rows.loc["promoter_share", "value"] == pytest.approx(40.0)
    assert rows.loc["avg_rating", "value"] == 3.5
    assert rows.loc["rating_share_4", "value"] == pytest.approx(50.0)
    assert rows.loc["rating_share_3", "value"] == 0.0
    assert rows.loc["review_count", "value"] == 4 and math.isnan(rows.loc["review_count", "ci_low"])
    assert rows.loc["reply_rate", "value"] == pytest.approx(25.0)
    assert rows.loc["mention_count", "value"] == 7
    assert rows.loc["csat", "ci_low"] == pytest.approx(49.0158, abs=1e-3)
    assert "ces" not in rows.index  # no responses with a CES score: the row is absent, not zero


def test_compute_metrics_empty():
    assert compute_metrics(_stats([])).empty


def test_compute_metrics_all_promoters_and_single_response():
    d = pd.Timestamp("2026-03-02").date()
    stats = _stats([
        # three promoters (10, 9, 10): P 3, D 0, n 3
        (d, 1, "theme", "billing", "nps", 3, 3, 0, 0, 0, 0, 29.0, 281.0),
        # one response, CSAT 2: top-2-box 0 of 1, mean 2 with no interval (n < 2)
        (d, 1, "theme", "billing", "csat", 1, 0, 0, 0, 0, 0, 2.0, 4.0),
    ])
    rows = compute_metrics(stats).set_index("metric")
    # NPS 100·(3 − 0)/3 = 100; variance p + d − (p − d)² = 1 + 0 − 1 = 0: interval [100, 100]
    assert tuple(rows.loc["nps", ["value", "ci_low", "ci_high"]]) == (100.0, 100.0, 100.0)
    # promoter share 3 of 3, Wilson: denom 1 + z²/3 = 2.280486, centre (1 + z²/6)/denom = 0.719251,
    # half-width z·√(z²/36)/denom = 0.280749 -> [43.8503, 100]
    assert rows.loc["promoter_share", "value"] == 100.0
    assert rows.loc["promoter_share", "ci_low"] == pytest.approx(43.8503, abs=1e-3)
    assert rows.loc["promoter_share", "ci_high"] == pytest.approx(100.0)
    assert rows.loc["detractor_share", "value"] == 0.0 and rows.loc["detractor_share", "ci_low"] == pytest.approx(0)
    assert rows.loc["csat", "value"] == 0.0 and rows.loc["csat", "sample_size"] == 1
    assert rows.loc["csat_mean", "value"] == 2.0 and math.isnan(rows.loc["csat_mean", "ci_low"])
    assert set(rows.segment_type) == {"theme"}


def test_window_medians_slice_each_segment_by_date():
    d = date(2026, 3, 1)
    replied = pd.DataFrame({
        "feedback_date": [date(2026, 2, 2), date(2026, 2, 24), date(2026, 2, 28), date(2026, 3, 1), date(2026, 3, 1)],
        "reply_hours": [100.0, 7.0, 1.0, 4.0, 2.0],
        "source": ["trustpilot", "google", "trustpilot", "trustpilot", "google"],
        "product": [None, "app", None, "app", None],
        "location": [None] * 5, "journey_stage": [None] * 5, "touchpoint": [None] * 5,
        "pyramid_level": ["utility", None, None, None, None],
    })
    themes = pd.DataFrame({"feedback_date": [date(2026, 2, 24), date(2026, 3, 1)], "theme": ["billing", "billing"],
                           "reply_hours": [7.0, 4.0]})
    out = window_medians(replied, themes, [date(2026, 2, 27), d])
    got = {(r.kpi_date, r.window_days, r.segment_type, r.segment_value): (r.value, r.n) for r in out.itertuples()}
    # 1 March: the day holds 4, 2 (median 3); 7 days add 28 Feb's 1 and 24 Feb's 7 (1 2 4 7: 3);
    # 28 days reach back to 2 Feb (1 2 4 7 100: 4)
    assert got[(d, 1, "all", "all")] == (3.0, 2)
    assert got[(d, 7, "all", "all")] == (3.0, 4)
    assert got[(d, 28, "all", "all")] == (4.0, 5)
    assert got[(d, 28, "family", "review")] == (4.0, 5)
    # trustpilot: 2 Feb 100, 28 Feb 1, 1 Mar 4; google: 24 Feb 7, 1 Mar 2
    assert got[(d, 7, "source", "trustpilot")] == (2.5, 2)
    assert got[(d, 28, "source", "trustpilot")] == (4.0, 3)
    assert got[(d, 7, "source", "google")] == (4.5, 2)
    assert got[(d, 1, "product", "app")] == (4.0, 1) and got[(d, 7, "product", "app")] == (5.5, 2)
    assert got[(d, 28, "pyramid_level", "utility")] == (100.0, 1)
    assert got[(d, 7, "theme", "billing")] == (5.5, 2)
    # 27 Feb: nothing replied that day, so no 1-day rows; its 7 days hold 24 Feb's 7 only
    assert not any(k[0] == date(2026, 2, 27) and k[1] == 1 for k in got)
    assert got[(date(2026, 2, 27), 7, "all", "all")] == (7.0, 1)
    # a window without a segment's reviews has no row, nor do segments without a value
    assert (d, 7, "pyramid_level", "utility") not in got
    assert {k[2] for k in got} == {"all", "family", "source", "product", "pyramid_level", "theme"}
    assert len(out) == len(got)


def test_window_medians_of_nothing_replied():
    empty = pd.DataFrame({"feedback_date": [], "reply_hours": [], "source": [], "product": [], "location": [],
                          "journey_stage": [], "touchpoint": [], "pyramid_level": []})
    out = window_medians(empty, pd.DataFrame({"feedback_date": [], "theme": [], "reply_hours": []}), [date(2026, 3, 1)])
    assert out.empty and list(out.columns) == ["kpi_date", "window_days", "segment_type", "segment_value", "value", "n"]

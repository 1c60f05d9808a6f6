"""Change and significance against figures worked out by hand (KPIS.md "Beyond the table")."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.kpis.change import Observation, compare, read_changes
from pipelines.warehouse.db import make_engine, migrate

DAY = date(2026, 1, 15)


def test_shares_use_the_pooled_two_proportion_z_test() -> None:
    # csat 80% of 200 (k = 160) against 70% of 200 (k = 140): pooled p = 300/400 = 0.75,
    # se = √(0.75·0.25·(1/200 + 1/200)) = 0.0433013, z = 0.10/0.0433013 = 2.309401,
    # p = 2·(1 − Φ(2.309401)) = 0.020921 < 0.05
    change = compare("csat", Observation(80.0, 200), Observation(70.0, 200))
    assert change.delta == pytest.approx(10.0)
    assert change.test == "two-proportion z"
    assert change.p_value == pytest.approx(0.020921, abs=1e-6)
    assert change.significant


def test_an_unchanged_all_or_nothing_share_is_not_significant() -> None:
    change = compare("reply_rate", Observation(100.0, 5), Observation(100.0, 9))
    assert (change.delta, change.p_value, change.significant) == (0.0, 1.0, False)


def test_nps_uses_the_multinomial_variance_of_each_window() -> None:
    # now: n = 100, 50 promoters, 20 detractors -> NPS 30, var = (0.5 + 0.2 − 0.3²)/100 = 0.0061
    # before: n = 100, 40 promoters, 30 detractors -> NPS 10, var = (0.4 + 0.3 − 0.1²)/100 = 0.0069
    # se = 100·√0.013 = 11.40175 points, z = 20/11.40175 = 1.754116, p = 0.079411 (not called out)
    now = Observation(30.0, 100, parts=(50.0, 20.0))
    before = Observation(10.0, 100, parts=(40.0, 30.0))
    change = compare("nps", now, before)
    assert change.test == "net-score z"
    assert change.p_value == pytest.approx(0.079411, abs=1e-6)
    assert not change.significant
    # the same shares on n = 400 each: se = 100·√(0.61/400 + 0.69/400) = 5.700877,
    # z = 3.508232, p = 0.000451
    bigger = compare("nps", Observation(30.0, 400, parts=(50.0, 20.0)), Observation(10.0, 400, parts=(40.0, 30.0)))
    assert bigger.p_value == pytest.approx(0.000451, abs=1e-6)
    assert bigger.significant


def test_means_use_welch_with_the_sd_recovered_from_the_interval() -> None:
    # now: mean 4.2, s = 1.0, n = 50 -> interval 4.2 ± 1.959964·1/√50 = (3.922819, 4.477181)
    # before: mean 3.8, s = 1.2, n = 40 -> interval 3.8 ± 1.959964·1.2/√40 = (3.428123, 4.171877)
    # se² = 1/50 + 1.44/40 = 0.056, t = 0.4/√0.056 = 1.690309,
    # df = 0.056²/(0.02²/49 + 0.036²/39) = 75.7597, p = 2·P(T > 1.690309) = 0.095080
    now = Observation(4.2, 50, 3.922819232943698, 4.477180767056303)
    before = Observation(3.8, 40, 3.4281229776839446, 4.171877022316055)
    change = compare("avg_rating", now, before)
    assert change.test == "Welch t"
    assert change.p_value == pytest.approx(0.095080, abs=1e-5)
    assert not change.significant


def test_a_mean_without_an_interval_gets_no_test() -> None:
    change = compare("ces", Observation(5.0, 1, None, None), Observation(4.0, 30, 3.5, 4.5))
    assert change.delta == pytest.approx(1.0) and change.p_value is None and not change.significant


def test_counts_of_equal_windows_compare_as_poisson_rates() -> None:
    # 120 against 80 reviews: z = 40/√200 = 2.828427, p = 0.004678
    change = compare("review_count", Observation(120, 120), Observation(80, 80))
    assert change.p_value == pytest.approx(0.004678, abs=1e-6)
    assert change.significant


def test_a_metric_without_a_test_still_gets_its_change() -> None:
    change = compare("median_reply_hours", Observation(5.0, 10), Observation(7.5, 12))
    assert (change.delta, change.test, change.p_value) == (-2.5, None, None)


def test_read_changes_pairs_the_window_ending_day_with_the_one_before(tmp_path: Path) -> None:
    engine = make_engine(f"duckdb:///{tmp_path}/w.duckdb")
    migrate(engine)
    before = DAY - timedelta(days=7)
    rows = [
        # the NPS example above on n = 400: p = 0.000451
        (DAY, 7, "nps", 30.0, 400), (DAY, 7, "promoter_share", 50.0, 400), (DAY, 7, "detractor_share", 20.0, 400),
        (before, 7, "nps", 10.0, 400), (before, 7, "promoter_share", 40.0, 400),
        (before, 7, "detractor_share", 30.0, 400),
        (DAY, 7, "csat", 80.0, 200), (before, 7, "csat", 70.0, 200),
        (DAY - timedelta(days=1), 7, "csat", 10.0, 200),  # not the previous window: ignored
        (DAY, 1, "csat", 10.0, 20),  # another window length: ignored
        (DAY, 7, "review_count", 50, 50),  # no previous window: left out
    ]
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into marts.kpi_daily values (:d, :w, :m, 'all', 'all', :v, :n, null, null)"),
            [{"d": d, "w": w, "m": m, "v": v, "n": n} for d, w, m, v, n in rows])
        conn.execute(sa.text(
            "insert into marts.kpi_daily values (:d, 7, 'csat', 'location', 'leeds', 50, 10, null, null)"),
            {"d": before})
    with engine.connect() as conn:
        changes = read_changes(conn, DAY, 7, ["nps", "csat", "review_count"])
        leeds = read_changes(conn, DAY, 7, ["csat"], segment=("location", "leeds"))
    engine.dispose()
    assert set(changes) == {"nps", "csat"}
    assert changes["nps"].delta == pytest.approx(20.0)
    assert changes["nps"].p_value == pytest.approx(0.000451, abs=1e-6)
    assert changes["csat"].p_value == pytest.approx(0.020921, abs=1e-6)
    assert leeds == {}  # only the previous window has a Leeds row

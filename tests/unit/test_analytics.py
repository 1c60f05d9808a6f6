"""Theme impact, anomalies, channel consistency and emerging terms against hand-worked figures."""

import random
import re
import threading
import time
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipelines.kpis import analytics
from pipelines.kpis.analytics import (
    STOPWORDS,
    anomalies,
    channel_consistency,
    emerging_terms,
    impact,
    term_counts,
    theme_impact,
)
from pipelines.kpis.themes import load_taxonomy

D = date(2026, 3, 31)


def test_nps_impact_leave_one_out():
    # tagged: two detractors; untagged: two promoters and a passive.
    # NPS(all) = 100·(2 − 2)/5 = 0; NPS(without) = 100·(2 − 0)/3 = 66.667; impact = −66.667
    values, totals, tagged = np.array([-100.0, 0.0, 100.0]), np.array([2, 1, 2]), np.array([[2], [0], [0]])
    row = impact(values, totals, tagged, np.random.default_rng(1)).iloc[0]
    assert row.impact == pytest.approx(-200 / 3)
    assert (row.n_with, row.n_without) == (2, 3)
    assert row.ci_low <= row.impact <= row.ci_high


def test_rating_impact_and_interval_narrows_with_n():
    # stars 5 and 1 mention the theme, 4 and 4 do not: mean 3.5 − mean 4 = −0.5
    values, totals, tagged = np.array([1.0, 4.0, 5.0]), np.array([1, 2, 1]), np.array([[1], [0], [1]])
    small = impact(values, totals, tagged, np.random.default_rng(7)).iloc[0]
    large = impact(values, totals * 100, tagged * 100, np.random.default_rng(7)).iloc[0]
    assert small.impact == large.impact == pytest.approx(-0.5)
    assert large.ci_low < -0.5 < large.ci_high
    assert large.ci_high - large.ci_low < small.ci_high - small.ci_low


def test_theme_in_every_item_or_in_none_has_no_row():
    # two items, scores 0 and 100: the first theme names both, the second neither
    assert impact(np.array([0.0, 100.0]), np.array([1, 1]), np.array([[1, 0], [1, 0]]),
                  np.random.default_rng(0)).empty


def test_theme_impact_windows_and_fixed_seed():
    # items: a (D, −100, billing), b (D, 100), c (D−3, 100, billing), d (D−3, 0), e (D, 100)
    scores = pd.DataFrame({
        "feedback_date": [D, D, D - timedelta(days=3), D - timedelta(days=3)],
        "metric": "nps", "score": [-100.0, 100.0, 100.0, 0.0], "items": [1, 2, 1, 1],
    })
    tagged = pd.DataFrame({"feedback_date": [D, D - timedelta(days=3)], "metric": "nps",
                           "theme": "billing", "score": [-100.0, 100.0], "items": [1, 1]})
    rows = theme_impact(scores, tagged, [D])
    by_window = rows.set_index("window_days")
    # day 1: a(−100, billing), b, e (100): NPS(all) 100/3 = 33.33, without 100 -> −66.67
    assert by_window.loc[1, "impact"] == pytest.approx(100 / 3 - 100)
    assert (by_window.loc[1, "n_with"], by_window.loc[1, "n_without"]) == (1, 2)
    # 7 days: all five, NPS(all) = 100·(3 − 1)/5 = 40; without a, c: b, d, e -> 100·2/3 = 66.67
    assert by_window.loc[7, "impact"] == pytest.approx(40 - 200 / 3)
    assert by_window.loc[7, "ci_low"] < by_window.loc[7, "impact"] < by_window.loc[7, "ci_high"]
    pd.testing.assert_frame_equal(rows, theme_impact(scores, tagged, [D]))  # the seed is fixed
    # a date recomputed alone, with only its window's days read, draws exactly what a longer run drew
    late = scores[scores.feedback_date == D]
    alone = theme_impact(late, tagged[tagged.feedback_date == D], [D])
    pd.testing.assert_frame_equal(alone[alone.window_days == 1], rows[rows.window_days == 1])


def _series(values, metric="volume"):
    days = [D - timedelta(days=len(values) - 1 - i) for i in range(len(values))]
    return pd.DataFrame({"kpi_date": days, "metric": metric, "segment_type": "all", "segment_value": "all",
                         "value": values})


def test_anomaly_outside_three_sd_of_trailing_days():
    # 14 baseline days alternating 10, 12: mean 11, sample sd = sqrt(14·1/13) = 1.037749
    base = [10.0, 12.0] * 7
    flagged = anomalies(_series([*base, 20.0]), [D])
    assert len(flagged) == 1
    row = flagged.iloc[0]
    assert (row.baseline_mean, row.baseline_sd) == pytest.approx((11.0, 1.037749), abs=1e-6)
    assert row.z == pytest.approx(9 / 1.037749, abs=1e-5)  # 8.6726
    # 14 is 3 above the mean, inside 3·sd = 3.113: not an anomaly
    assert anomalies(_series([*base, 14.0]), [D]).empty
    # 13 days of history are not enough; a flat baseline flags nothing
    assert anomalies(_series([*base[1:], 20.0]), [D]).empty
    assert anomalies(_series([5.0] * 20 + [50.0]), [D]).empty


def test_channel_consistency_spread_and_weakest():
    net = pd.DataFrame({
        "kpi_date": D, "segment_type": ["source"] * 3 + ["touchpoint"],
        "segment_value": ["a", "b", "c", "app"], "value": [10.0, -20.0, 40.0, 5.0],
    })
    rows = channel_consistency(net)
    # mean 10; population variance (0 + 900 + 900)/3 = 600; sd 24.4949. One touchpoint: no spread
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row.dimension, row.segments, row.weakest_value, row.weakest_net_sentiment) == ("source", 3, "b", -20.0)
    assert row.spread == pytest.approx(600 ** 0.5)


def test_emerging_terms_rise_against_baseline_and_skip_taxonomy(tmp_path):
    path = tmp_path / "themes.yml"
    path.write_text('version: "1"\nthemes:\n  fire:\n    category: safety\n    phrases: [smoke]\n', encoding="utf-8")
    taxonomy = load_taxonomy(path)
    baseline = [(D - timedelta(days=i), "paid my bill on time") for i in range(1, 15) for _ in range(10)]
    today = [(D, "the router smells of smoke")] * 6 + [(D, "blue screen")] * 4
    texts = pd.DataFrame(baseline + today, columns=["feedback_date", "text"])
    rows = _emerging(texts, [D], taxonomy)
    # router, smells and the bigram "router smells" (stopwords drop "the", "of"); "smoke" is a theme
    # phrase; "blue" appears in 4 texts only (< 5). lift = (6/10) / ((0 + 1)/(140 + 1)) = 84.6
    assert sorted(rows.term) == ["router", "router smells", "smells"]
    assert set(rows.recent_count) == {6} and set(rows.baseline_count) == {0}
    assert rows.lift.to_numpy() == pytest.approx([0.6 * 141] * 3)
    # 13 baseline days: nothing yet
    short = texts[pd.to_datetime(texts.feedback_date).dt.date != D - timedelta(days=14)]
    assert _emerging(short, [D], taxonomy).empty


def _emerging(texts: pd.DataFrame, dates: list[date], taxonomy) -> pd.DataFrame:
    """emerging_terms from the day counts of `texts`, as the warehouse stores them."""
    return emerging_terms(term_counts(texts), pd.to_datetime(texts.feedback_date).dt.date.value_counts(),
                          dates, taxonomy)


def _reference_terms(text: str) -> set[str]:
    """The distinct unigrams and bigrams of one text, the plain-Python way."""
    tokens = re.findall(r"[a-z][a-z']+", text.lower())
    grams = {t for t in tokens if t not in STOPWORDS}
    grams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)
                 if a not in STOPWORDS and b not in STOPWORDS)
    return grams


def test_term_counts_match_a_text_by_text_reference():
    edge = ["", "'quoted' words, 'a' b'c x", "Don't DON'T can't-stop 2fast4u o'neill's", "é café naïve ÉTÉ!",
            "the of and", "router router ROUTER smells", "line\nbreak\ttab  spaces", "a b c d e"]
    rng = random.Random(3)
    words = ["router", "smells", "the", "of", "don't", "'tis", "refund", "x", "ok!", "never", "arrived", "42", "é"]
    rows = [(D - timedelta(days=i % 3), t) for i, t in enumerate(
        edge + [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(300)])]
    texts = pd.DataFrame(rows, columns=["feedback_date", "text"])
    expected: Counter = Counter()
    for day, text in rows:
        expected.update((day, term) for term in _reference_terms(text))
    for chunk in (len(texts), 7, 100):  # whole, and in chunks whose counts add up
        got = term_counts(texts, chunk=chunk)
        assert dict(zip(zip(got.feedback_date, got.term, strict=True), got.docs, strict=True)) == dict(expected)


def test_term_counts_count_one_chunk_at_a_time(monkeypatch):
    """The chunks' counts add up; they are counted one after another on this thread, so only one
    chunk's tokens are held at a time (on a thread per core, the growth target failed). Two chunks
    of two texts, one of one: "router" is in three texts over two chunks, "late router" (a bigram)
    in two."""
    counted_on, running, real = [], [0, 0], analytics._term_counts

    def spy(texts: pd.DataFrame) -> pd.DataFrame:
        counted_on.append(threading.current_thread())
        running[0] += 1
        running[1] = max(running)
        try:
            time.sleep(0.05)  # long enough for a second chunk to start, were they counted side by side
            return real(texts)
        finally:
            running[0] -= 1

    monkeypatch.setattr(analytics, "_term_counts", spy)
    texts = pd.DataFrame({"feedback_date": [D] * 5,
                          "text": ["late router", "router again", "late router", "refund", "refund please"]})
    got = term_counts(texts, chunk=2)
    assert counted_on == [threading.main_thread()] * 3 and running[1] == 1
    docs = dict(zip(got.term, got.docs, strict=True))
    assert (docs["router"], docs["late router"], docs["refund"], docs["late"], docs["please"]) == (3, 2, 2, 2, 1)


def test_a_metrics_bootstrap_seed_does_not_depend_on_the_other_metric():
    """NPS draws the same interval whether or not reviews fall in the dates read: a date recomputed
    with another range of history must write what a full rebuild wrote."""
    nps = pd.DataFrame({"feedback_date": [D, D, D], "metric": "nps", "score": [-100.0, 0.0, 100.0],
                        "items": [3, 2, 5]})
    tagged = pd.DataFrame({"feedback_date": [D, D], "metric": "nps", "theme": "billing",
                           "score": [-100.0, 100.0], "items": [2, 1]})
    ratings = pd.DataFrame({"feedback_date": [D - timedelta(days=2)], "metric": "avg_rating", "score": [4.0],
                            "items": [1]})
    alone = theme_impact(nps, tagged, [D])
    beside = theme_impact(pd.concat([ratings, nps], ignore_index=True), tagged, [D])
    assert len(alone) == 3 and alone.ci_low.notna().all()
    pd.testing.assert_frame_equal(alone, beside[beside.metric == "nps"].reset_index(drop=True), check_dtype=False)

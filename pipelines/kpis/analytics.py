"""KPIS.md "beyond the table": theme impact, anomalies, channel consistency, customers at risk and
emerging terms, each a pure function on small frames plus a loader that feeds it from the warehouse.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from pipelines.kpis.stats import WINDOWS, as_days
from pipelines.kpis.themes import Taxonomy
from pipelines.warehouse.db import read_frame

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20261204
IMPACT_METRICS = ("avg_rating", "nps")  # a metric's place seeds its bootstrap
BASELINE_DAYS = 28
MIN_HISTORY = 14
ANOMALY_SD = 3.0
MIN_RECENT = 5
MIN_LIFT = 3.0
TOP_TERMS = 20
TERM_CHUNK = 10_000  # texts tokenised at once by term_counts
IMPACT_COLUMNS = ["kpi_date", "window_days", "theme", "metric", "impact", "ci_low", "ci_high", "n_with", "n_without"]
ANOMALY_COLUMNS = ["kpi_date", "metric", "segment_type", "segment_value", "value", "baseline_mean", "baseline_sd", "z"]
CONSISTENCY_COLUMNS = ["kpi_date", "dimension", "spread", "segments", "weakest_value", "weakest_net_sentiment"]
TERM_COLUMNS = ["kpi_date", "term", "recent_count", "baseline_count", "lift"]
STOPWORDS = frozenset("""
a about after again all also am an and any are as at be been before being but by can could did do does
doesn't don't even every for from get got had has hasn't have haven't he her here him his how i i'm i've if
in into is isn't it it's its just me more most my no not now of off on once one only or other our out over
own same she so some still such than that that's the their them then there they this to too under until
up us very was wasn't we were what when where which while who why will with won't would you your
""".split())
_STOPWORD_ARRAY = pa.array(sorted(STOPWORDS))


# -- theme impact -----------------------------------------------------------------------------------

def impact(values: np.ndarray, totals: np.ndarray, with_t: np.ndarray, rng: np.random.Generator,
           resamples: int = BOOTSTRAP_RESAMPLES) -> pd.DataFrame:
    """Leave-one-out impact per theme column: mean(all) − mean(items not mentioning it).

    The items are given as counts: `values` the distinct scores (±100/0 for NPS, stars for
    ratings), `totals` how many items gave each, `with_t` (scores × themes) how many of those
    mention each theme. A theme's impact depends only on each item's (score, mentions-it) pair, so
    the bootstrap, which resamples the n items with replacement, is drawn as multinomial counts
    over those few cells: the same distribution as resampling items, at a cost independent of n,
    and counts of days add up to a window's.
    """
    n = int(totals.sum())
    without_t = totals[:, None] - with_t
    n_with = with_t.sum(axis=0)
    point = (values @ totals) / n - (values @ without_t) / np.maximum(n - n_with, 1)
    low, high = np.full(len(n_with), np.nan), np.full(len(n_with), np.nan)
    valid = np.flatnonzero((n_with > 0) & (n_with < n))
    if len(valid):
        cells = np.concatenate([with_t[:, valid], without_t[:, valid]]).T / n  # themes × (score, in/out)
        draws = rng.multinomial(n, cells, size=(resamples, len(valid)))  # resamples × themes × cells
        rest = draws[..., len(values):]
        with np.errstate(invalid="ignore", divide="ignore"):  # a resample with nobody outside: no impact
            boot = draws @ np.concatenate([values, values]) / n - (rest @ values) / rest.sum(axis=-1)
        percentile = np.nanpercentile if np.isnan(boot).any() else np.percentile
        low[valid], high[valid] = percentile(boot, [2.5, 97.5], axis=0)
    out = pd.DataFrame({"impact": point, "ci_low": low, "ci_high": high, "n_with": n_with, "n_without": n - n_with})
    return out[(out.n_with > 0) & (out.n_without > 0)]


def theme_impact(scores: pd.DataFrame, tagged: pd.DataFrame, dates: list[date]) -> pd.DataFrame:
    """`marts.theme_impact` rows: NPS and avg_rating impact of each theme per kpi date and window.

    `scores`: feedback_date, metric ('nps' | 'avg_rating'), score (±100/0 or stars), items — how
    many items of the day gave the score; `tagged`: the same with a theme, counting the items that
    name it. Each (date, window, metric) draws from its own seeded generator, so recomputing one
    date reproduces exactly what a full rebuild writes.
    """
    if scores.empty or tagged.empty:
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    parts = []
    for metric, group in scores.groupby("metric", sort=True):
        tags = tagged[tagged.metric == metric]
        first = min(min(group.feedback_date), dates[0] - timedelta(days=max(WINDOWS)))
        days = (dates[-1] - first).days + 1
        values, score_no = np.unique(group.score.to_numpy(float), return_inverse=True)
        themes, theme_no = np.unique(tags.theme.to_numpy(str), return_inverse=True)
        # running sums over the days (row i: the days before first + i), so a window is a difference
        totals = np.zeros((days + 1, len(values)), np.int64)
        np.add.at(totals, (_day_numbers(group.feedback_date, first) + 1, score_no), group["items"].to_numpy(np.int64))
        with_t = np.zeros((days + 1, len(values), len(themes)), np.int64)
        np.add.at(with_t, (_day_numbers(tags.feedback_date, first) + 1,
                           np.searchsorted(values, tags.score.to_numpy(float)), theme_no),
                  tags["items"].to_numpy(np.int64))
        totals, with_t = totals.cumsum(axis=0), with_t.cumsum(axis=0)
        for day in dates:
            end = (day - first).days + 1
            for window in WINDOWS:
                begin = max(end - window, 0)
                in_window = totals[end] - totals[begin]
                scored = np.flatnonzero(in_window)  # the scores given in the window, in order
                if not len(scored):
                    continue
                named = with_t[end][scored] - with_t[begin][scored]
                mentioned = np.flatnonzero(named.sum(axis=0))
                rng = np.random.default_rng([BOOTSTRAP_SEED, day.toordinal(), window, IMPACT_METRICS.index(metric)])
                rows = impact(values[scored], in_window[scored], named[:, mentioned], rng)
                rows.insert(0, "theme", themes[mentioned][rows.index].astype(object))
                parts.append(rows.assign(kpi_date=day, window_days=window, metric=metric))
    if not parts:
        return pd.DataFrame(columns=IMPACT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[IMPACT_COLUMNS]


def _day_numbers(days: pd.Series, first: date) -> np.ndarray:
    """Days since `first` of a column of dates."""
    return (as_days(days) - np.datetime64(first, "D")).astype(np.int64)


# -- anomalies -----------------------------------------------------------------------------------

def anomalies(daily: pd.DataFrame, dates: list[date]) -> pd.DataFrame:
    """Values outside mean ± 3·sd (sample sd) of the trailing 28 days, with ≥ 14 of them present.

    `daily`: kpi_date, metric, segment_type, segment_value, value — one value per day. A flat
    baseline (sd 0) flags nothing: z is undefined.
    """
    out = []
    for key, series in daily.groupby(["metric", "segment_type", "segment_value"], sort=True):
        values = dict(zip(pd.to_datetime(series.kpi_date).dt.date, series.value.astype(float), strict=True))
        for day in dates:
            if day not in values:
                continue
            history = [values[d] for i in range(1, BASELINE_DAYS + 1) if (d := day - timedelta(days=i)) in values]
            if len(history) < MIN_HISTORY:
                continue
            mean, sd = float(np.mean(history)), float(np.std(history, ddof=1))
            if sd > 0 and abs(values[day] - mean) > ANOMALY_SD * sd:
                out.append((day, *key, values[day], mean, sd, (values[day] - mean) / sd))
    return pd.DataFrame(out, columns=ANOMALY_COLUMNS)


# -- channel consistency --------------------------------------------------------------------------

def channel_consistency(net: pd.DataFrame) -> pd.DataFrame:
    """Spread (population sd) of 28-day net sentiment across sources and touchpoints, and the weakest.

    `net`: kpi_date, segment_type ('source' | 'touchpoint'), segment_value, value. Needs ≥ 2 values.
    """
    out = []
    for (day, dimension), group in net.groupby(["kpi_date", "segment_type"], sort=True):
        if len(group) < 2:
            continue
        weakest = group.sort_values(["value", "segment_value"]).iloc[0]
        out.append((day, dimension, float(np.std(group.value.astype(float), ddof=0)), len(group),
                    weakest.segment_value, float(weakest.value)))
    return pd.DataFrame(out, columns=CONSISTENCY_COLUMNS)


# -- emerging terms ------------------------------------------------------------------------------

def term_counts(texts: pd.DataFrame, chunk: int = TERM_CHUNK) -> pd.DataFrame:
    """Per feedback date, in how many texts each unigram and bigram occurs (stopwords dropped).

    Tokens are runs of letters and apostrophes starting with a letter (`[a-z][a-z']+` of the
    lower-cased text); a bigram joins two neighbouring tokens, neither a stopword. Vectorised with
    Arrow over `chunk` texts at a time: a Python loop per text was the largest cost of the KPI
    stage, and the token arrays of a large day's texts at once added 560 MB to its peak. Counts of
    disjoint texts add up. The chunks are counted one after another: on a thread per core, the
    tokens of two chunks at once raised the peak of a day at scale 100 by 25 MB and its growth from
    scale 10 past the target (benchmarks/HISTORY.md, twenty-fourth round), for about 1 s on a large
    day. Returns feedback_date, term, docs.
    """
    if len(texts) <= chunk:
        return _term_counts(texts)
    parts = [_term_counts(texts.iloc[start:start + chunk]) for start in range(0, len(texts), chunk)]
    return pd.concat(parts, ignore_index=True).groupby(["feedback_date", "term"], as_index=False, sort=False)[
        "docs"].sum()


def _term_counts(texts: pd.DataFrame) -> pd.DataFrame:
    if texts.empty:
        return pd.DataFrame({"feedback_date": [], "term": [], "docs": []})
    pieces = pc.split_pattern_regex(pc.utf8_lower(pa.array(texts["text"].astype(str).to_numpy(object))),
                                    "[^a-z']+")
    doc = pc.list_parent_indices(pieces).to_numpy()
    flat = pc.utf8_ltrim(pc.list_flatten(pieces), "'")
    keep = pc.greater_equal(pc.utf8_length(flat), 2)
    tokens, doc = flat.filter(keep), doc[keep.to_numpy(zero_copy_only=False)]
    usable = ~pc.is_in(tokens, value_set=_STOPWORD_ARRAY).to_numpy(zero_copy_only=False)
    pair = (doc[:-1] == doc[1:]) & usable[:-1] & usable[1:]
    at = np.flatnonzero(pair)
    bigrams = pc.binary_join_element_wise(tokens.take(at), tokens.take(at + 1), " ")
    terms = pa.concat_arrays([tokens.filter(usable), bigrams])
    encoded = terms.dictionary_encode()
    term_code, vocabulary = encoded.indices.to_numpy(), encoded.dictionary
    docs = np.concatenate([doc[usable], doc[at]]).astype(np.int64)
    distinct = pd.unique(docs * len(vocabulary) + term_code)  # each term once per text (hashing, no sort)
    day_code, day_values = pd.factorize(pd.to_datetime(texts["feedback_date"]).dt.date.to_numpy())
    counted = pd.Series(day_code[distinct // len(vocabulary)].astype(np.int64) * len(vocabulary)
                        + distinct % len(vocabulary)).value_counts(sort=False)
    key, count = counted.index.to_numpy(), counted.to_numpy()
    return pd.DataFrame({"feedback_date": np.asarray(day_values, dtype=object)[key // len(vocabulary)],
                         "term": vocabulary.take(key % len(vocabulary)).to_numpy(zero_copy_only=False),
                         "docs": count})


def emerging_terms(counts: pd.DataFrame, texts_per_day: pd.Series, dates: list[date],
                   taxonomy: Taxonomy) -> pd.DataFrame:
    """N-grams the taxonomy does not cover whose share of a day's texts rose against the 28 before.

    `counts` (feedback_date, term, docs, as `term_counts` gives them) must hold every term counted
    at least MIN_RECENT times on one of `dates`, over those dates and their baselines;
    `texts_per_day` counts every text per feedback date. lift = (recent_count / texts that day) /
    ((baseline_count + 1) / (baseline texts + 1)); a term needs ≥ 5 texts that day, lift ≥ 3, and
    ≥ 14 baseline days with text; the top 20 by lift.
    """
    days = pd.to_datetime(counts["feedback_date"]).dt.date if len(counts) else counts["feedback_date"]
    out = []
    for day in dates:
        if day not in texts_per_day.index:
            continue
        history = [d for i in range(1, BASELINE_DAYS + 1) if (d := day - timedelta(days=i)) in texts_per_day.index]
        if len(history) < MIN_HISTORY:
            continue
        recent = counts[(days == day) & (counts["docs"] >= MIN_RECENT)]
        baseline = counts[days.isin(history)].groupby("term")["docs"].sum()
        base = recent["term"].map(baseline).fillna(0).astype(np.int64)
        n_base = int(texts_per_day[history].sum())
        lift = (recent["docs"] / texts_per_day[day]) / ((base + 1) / (n_base + 1))
        out.append(pd.DataFrame({"kpi_date": day, "term": recent["term"], "recent_count": recent["docs"],
                                 "baseline_count": base, "lift": lift})[lift >= MIN_LIFT])
    found = pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=TERM_COLUMNS)
    if found.empty:
        return found
    covered = taxonomy.matches(found.term).any(axis=1)
    found = found[~covered.to_numpy()]
    found = found.sort_values(["kpi_date", "lift", "term"], ascending=[True, False, True])
    return found.groupby("kpi_date", sort=False).head(TOP_TERMS).reset_index(drop=True)


# -- warehouse loaders ---------------------------------------------------------------------------

def _between(conn: sa.Connection, sql: str, low: date, high: date) -> pd.DataFrame:
    return pd.read_sql_query(sa.text(sql), conn, params={"low": low, "high": high})


def read_impact_cells(conn: sa.Connection, low: date, high: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The theme impact cells of the feedback dates between `low` and `high`: items per score, and
    per theme and score (marts.impact_day_scores, marts.impact_day_theme_scores)."""
    window = {"low": low, "high": high}
    scores = read_frame(conn, sa.text(
        "select feedback_date, metric, score, items from marts.impact_day_scores "
        "where feedback_date between :low and :high order by 1, 2, 3"), window)
    tagged = read_frame(conn, sa.text(
        "select feedback_date, metric, theme, score, items from marts.impact_day_theme_scores "
        "where feedback_date between :low and :high order by 1, 2, 3, 4"), window)
    return scores, tagged


def read_daily_series(conn: sa.Connection, low: date, high: date) -> pd.DataFrame:
    """Daily volume (reviews + mentions + responses) and net sentiment, overall and per source."""
    return _between(conn, (
        "select kpi_date, case when metric = 'net_sentiment' then 'net_sentiment' else 'volume' end as metric, "
        "segment_type, segment_value, sum(value) as value from marts.kpi_daily "
        "where window_days = 1 and segment_type in ('all', 'source') and kpi_date between :low and :high "
        "and metric in ('review_count', 'mention_count', 'response_count', 'net_sentiment') "
        "group by 1, 2, 3, 4 order by 1, 2, 3, 4"), low, high)


def read_channel_net(conn: sa.Connection, low: date, high: date) -> pd.DataFrame:
    """28-day net sentiment per source and per touchpoint."""
    return _between(conn, (
        "select kpi_date, segment_type, segment_value, value from marts.kpi_daily where window_days = 28 "
        "and metric = 'net_sentiment' and segment_type in ('source', 'touchpoint') "
        "and kpi_date between :low and :high order by 1, 2, 3"), low, high)


def read_texts(conn: sa.Connection, low: date, high: date) -> pd.DataFrame:
    """The texts of the feedback dates between `low` and `high` (feedback_date, text)."""
    return read_frame(conn, sa.text("select feedback_date, text from marts.fct_feedback "
                                    "where feedback_date between :low and :high order by feedback_id"),
                      {"low": low, "high": high})


def read_texts_per_day(conn: sa.Connection, low: date, high: date) -> pd.Series:
    """How many texts each feedback date between `low` and `high` has, indexed by date."""
    days = _between(conn, "select feedback_date, count(*) as texts from marts.fct_feedback "
                          "where feedback_date between :low and :high group by 1", low, high)
    return pd.Series(days["texts"].to_numpy(np.int64), index=pd.to_datetime(days["feedback_date"]).dt.date)


def read_term_counts(conn: sa.Connection, low: date, first: date, high: date) -> pd.DataFrame:
    """The stored day counts (marts.term_day_counts) between `low` and `high` of the terms counted
    at least MIN_RECENT times on a date from `first` to `high`: all emerging_terms needs to rate
    the dates from `first` on against their baselines, a small part of the history's terms."""
    return read_frame(conn, sa.text(
        "select feedback_date, term, docs from marts.term_day_counts "
        "where feedback_date between :low and :high and term in ("
        "select term from marts.term_day_counts where feedback_date between :first and :high and docs >= :least)"),
        {"low": low, "first": first, "high": high, "least": MIN_RECENT})

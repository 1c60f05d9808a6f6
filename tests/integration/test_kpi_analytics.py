"""Customers at risk and the analytic marts on a real warehouse (DuckDB and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from pipelines.config import load_config
from pipelines.kpis.daily import kpi_dates, update_kpis
from pipelines.kpis.themes import load_taxonomy
from pipelines.run import Pipeline
from pipelines.sample import generate
from pipelines.warehouse.db import insert_frame, make_engine, migrate
from tests.dimensions import add_dimension_members
from tests.integration.conftest import DAY, _drop_database, _postgres_database, family_config, sample_history

D = date.fromisoformat(DAY)
ROOT = Path(__file__).parents[2]
ANALYTIC_TABLES = ["kpi_daily", "feedback_theme", "dim_theme", "theme_impact", "emerging_terms", "anomalies",
                   "customers_at_risk", "risk_spans", "channel_consistency", "fct_feedback"]
BUILT_TABLES = ["kpi_daily", "kpi_day_stats", "impact_day_scores", "impact_day_theme_scores", "theme_impact",
                   "term_day_counts", "customers_at_risk", "risk_spans", "fct_feedback", "fct_review", "fct_mention",
                   "fct_survey_response", "feedback_theme", "customer_identity", "dim_customer"]


def _at(days_before: int, hour: int = 12) -> datetime:
    day = D - timedelta(days=days_before)
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _surveys(rows):
    return pd.DataFrame([{"feedback_id": f"nps:{i}", "source": "nps", "response_id": i, "occurred_at": _at(ago),
                          "feedback_date": D - timedelta(days=ago), "customer_key": who, "nps": float(nps)}
                         for i, who, ago, nps in rows])


def _reviews(rows):
    return pd.DataFrame([{"feedback_id": f"tp:{i}", "source": "tp", "review_id": i, "occurred_at": _at(ago),
                          "feedback_date": D - timedelta(days=ago), "customer_key": who, "rating": float(stars),
                          "is_replied": replied} for i, who, ago, stars, replied in rows])


def test_customers_at_risk_latest_interaction_negative_and_unanswered(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    surveys = _surveys([
        ("s1", "c1", 1, 10),   # c1: a 1-star review on D-2, then a promoter on D-1 -> latest positive
        ("s2", "c2", 3, 10),   # c2: promoter on D-3, then an unanswered 2-star review on D -> at risk
        ("s5", "c5", 30, 6),   # c5: detractor 30 days ago, outside the 28 days -> not listed
        ("s6", "c6", 10, 6),   # c6: detractor on D-10 -> at risk
    ])
    reviews = _reviews([
        ("r1", "c1", 2, 1, False),
        ("r2", "c2", 0, 2, False),
        ("r3", "c3", 0, 1, True),  # c3: a 1-star review that got a reply -> not at risk
    ])
    mentions = pd.DataFrame([{"feedback_id": "x:m4", "source": "x", "mention_id": "m4", "occurred_at": _at(1),
                              "feedback_date": D - timedelta(days=1), "customer_key": "c4", "names_brand": True,
                              "names_competitor": False, "sentiment_label": "negative"}])  # c4: at risk
    feedback = pd.DataFrame([{"feedback_id": "tp:r2", "family": "review", "source": "tp", "occurred_at": _at(0),
                              "feedback_date": D, "text": "Overcharged again", "sentiment_label": "negative",
                              "url": "https://example.test/r2", "customer_hash": "c2"}])
    with engine.begin() as conn:
        for frame in (surveys, reviews, mentions, feedback):
            add_dimension_members(conn, frame.to_dict("records"))
        insert_frame(conn, surveys, "marts.fct_survey_response")
        insert_frame(conn, reviews, "marts.fct_review")
        insert_frame(conn, mentions, "marts.fct_mention")
        insert_frame(conn, feedback, "marts.fct_feedback")
        dirty = sorted({*surveys.feedback_date, *reviews.feedback_date, *mentions.feedback_date})
        update_kpis(conn, D, dirty, load_taxonomy())
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select customer_hash, feedback_id, reason, text, url from marts.customers_at_risk "
            "where kpi_date = :d order by 1"), {"d": D}).all()
        assert [tuple(r) for r in rows] == [
            ("c2", "tp:r2", "unanswered low rating", "Overcharged again", "https://example.test/r2"),
            ("c4", "x:m4", "negative mention", None, None),
            ("c6", "nps:s6", "detractor", None, None),
        ]
        # on D-2, c1's latest was the unanswered 1-star review
        assert conn.execute(sa.text("select customer_hash from marts.customers_at_risk where kpi_date = :d "
                                    "order by 1"), {"d": D - timedelta(days=2)}).scalars().all() == ["c1", "c6"]
        # stored once per negative interaction: the kpi dates on which it is its customer's latest
        # within 28 days (c1's review until c1's promoter the next day; c5's detractor 27 days on)
        spans = conn.execute(sa.text("select customer_hash, feedback_id, first_date, last_date from marts.risk_spans "
                                     "order by 1")).all()
        assert [tuple(r) for r in spans] == [
            ("c1", "tp:r1", D - timedelta(days=2), D - timedelta(days=2)),
            ("c2", "tp:r2", D, D + timedelta(days=27)),
            ("c4", "x:m4", D - timedelta(days=1), D + timedelta(days=26)),
            ("c5", "nps:s5", D - timedelta(days=30), D - timedelta(days=3)),
            ("c6", "nps:s6", D - timedelta(days=10), D + timedelta(days=17)),
        ]
    engine.dispose()


def test_customers_at_risk_match_a_day_by_day_reference(warehouse_url):
    """Random histories, against the definition applied to each kpi date in turn: the latest
    interaction with a date in [d - 27, d] (ties on time broken by feedback_id) is negative."""
    rng = random.Random(8)
    surveys, reviews = [], []
    for n in range(160):
        who = f"c{rng.randrange(6) if n % 2 else rng.randrange(60)}"  # regulars and rare visitors
        ago, hour = rng.randrange(60), rng.choice([9, 12, 12, 18])
        if rng.random() < 0.5:
            surveys.append((f"s{n}", who, ago, rng.choice([3, 6, 7, 9, 10]), hour))
        else:
            reviews.append((f"r{n}", who, ago, rng.randint(1, 5), rng.random() < 0.3, hour))
    survey_frame = pd.DataFrame([{"feedback_id": f"nps:{i}", "source": "nps", "response_id": i,
                                  "occurred_at": _at(ago, hour), "feedback_date": D - timedelta(days=ago),
                                  "customer_key": who, "nps": float(nps)} for i, who, ago, nps, hour in surveys])
    review_frame = pd.DataFrame([{"feedback_id": f"tp:{i}", "source": "tp", "review_id": i,
                                  "occurred_at": _at(ago, hour), "feedback_date": D - timedelta(days=ago),
                                  "customer_key": who, "rating": float(stars), "is_replied": replied}
                                 for i, who, ago, stars, replied, hour in reviews])
    interactions = [(who, D - timedelta(days=ago), _at(ago, hour), f"nps:{i}", nps <= 6)
                    for i, who, ago, nps, hour in surveys]
    interactions += [(who, D - timedelta(days=ago), _at(ago, hour), f"tp:{i}", stars <= 2 and not replied)
                     for i, who, ago, stars, replied, hour in reviews]
    engine = make_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        for frame in (survey_frame, review_frame):
            add_dimension_members(conn, frame.to_dict("records"))
        insert_frame(conn, survey_frame, "marts.fct_survey_response")
        insert_frame(conn, review_frame, "marts.fct_review")
        dirty = sorted({d for _, d, _, _, _ in interactions})
        dates = kpi_dates(conn, D, dirty)
        update_kpis(conn, D, dirty, load_taxonomy())
    expected = set()
    for day in dates:
        latest: dict[str, tuple] = {}
        for who, on, at, fid, negative in interactions:
            if day - timedelta(days=27) <= on <= day and (who not in latest or (at, fid) > latest[who][:2]):
                latest[who] = (at, fid, negative)
        expected |= {(day, who, fid) for who, (_, fid, negative) in latest.items() if negative}
    with engine.connect() as conn:
        got = {(d if isinstance(d, date) else d.date(), who, fid) for d, who, fid in conn.execute(sa.text(
            "select kpi_date, customer_hash, feedback_id from marts.customers_at_risk"))}
    assert len(dates) >= 40 and len(expected) > 100
    assert got == expected
    engine.dispose()


def test_emerging_terms_rate_a_later_day_against_the_stored_term_counts(tmp_path, warehouse_url):
    """A build tokenises only its dirty dates' texts; a later build rates its day against the
    counts stored for the earlier ones (hand-worked lifts below)."""
    themes = tmp_path / "themes.yml"
    themes.write_text('version: "1"\nthemes:\n  fire:\n    category: safety\n    phrases: [smoke]\n',
                      encoding="utf-8")
    taxonomy = load_taxonomy(themes)
    texts = [(D - timedelta(days=ago), "paid my bill on time") for ago in range(1, 15) for _ in range(10)]
    texts += [(D - timedelta(days=3), "router fine")] * 2
    texts += [(D, "the router smells of smoke")] * 6 + [(D, "blue screen")] * 4
    later = [(D + timedelta(days=1), "router smells again")] * 5

    def feedback(rows, first):
        return pd.DataFrame([{"feedback_id": f"x:{first + n}", "family": "mention", "source": "x",
                              "occurred_at": datetime(d.year, d.month, d.day, 12, tzinfo=UTC), "feedback_date": d,
                              "text": text, "sentiment_label": "neutral"} for n, (d, text) in enumerate(rows)])

    engine = make_engine(warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        first = feedback(texts, 0)
        add_dimension_members(conn, first.to_dict("records"))
        insert_frame(conn, first, "marts.fct_feedback")
        update_kpis(conn, D, sorted(set(first.feedback_date)), taxonomy)
    with engine.begin() as conn:
        second = feedback(later, len(texts))
        add_dimension_members(conn, second.to_dict("records"))
        insert_frame(conn, second, "marts.fct_feedback")
        update_kpis(conn, D + timedelta(days=1), [D + timedelta(days=1)], taxonomy)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select kpi_date, term, recent_count, baseline_count, lift from marts.emerging_terms "
            "order by kpi_date, lift desc, term")).all()
    engine.dispose()
    got = [(d if isinstance(d, date) else d.date(), term, recent, base, lift) for d, term, recent, base, lift in rows]
    # D: 10 texts; baseline 14 days, 142 texts (router twice). "smoke" is a theme phrase, "blue" and
    # "screen" occur 4 times (< 5). lift = (6/10) / ((base + 1) / 143)
    # D+1: 5 texts ("again" is a stopword); baseline 15 days, 152 texts (router 2 + 6, smells and
    # "router smells" 6). lift = (5/5) / ((base + 1) / 153)
    assert got == [
        (D, "router smells", 6, 0, pytest.approx(0.6 * 143)),
        (D, "smells", 6, 0, pytest.approx(0.6 * 143)),
        (D, "router", 6, 2, pytest.approx(0.6 * 143 / 3)),
        (D + timedelta(days=1), "router smells", 5, 6, pytest.approx(153 / 7)),
        (D + timedelta(days=1), "smells", 5, 6, pytest.approx(153 / 7)),
        (D + timedelta(days=1), "router", 5, 8, pytest.approx(153 / 9)),
    ]


def _digest(engine) -> dict[str, str]:
    out = {}
    with engine.connect() as conn:
        for table in ANALYTIC_TABLES:
            rows = conn.execute(sa.text(f"select * from marts.{table}")).all()
            out[table] = hashlib.sha256(json.dumps(sorted(list(map(str, r)) for r in rows)).encode()).hexdigest()
    return out


def test_rerunning_a_day_rewrites_identical_analytic_marts(tiny):
    tiny.run_day(D)
    first = _digest(tiny.engine)
    with tiny.engine.connect() as conn:
        # window 7 on D: the late detractor (D-1) names delivery; 10 responses on D do not.
        # NPS(all 11) = 100·(4 − 5)/11 = −9.09; without it 100·(4 − 4)/10 = 0 -> impact −9.09
        impact = conn.execute(sa.text(
            "select impact, n_with, n_without from marts.theme_impact where kpi_date = :d and window_days = 7 "
            "and theme = 'delivery' and metric = 'nps'"), {"d": D}).one()
        assert impact[0] == pytest.approx(-100 / 11) and impact[1:] == (1, 10)
        assert conn.execute(sa.text("select count(*) from marts.customers_at_risk")).scalar_one() > 0
        assert conn.execute(sa.text("select count(*) from marts.channel_consistency")).scalar_one() > 0
    tiny.run_day(D)
    assert _digest(tiny.engine) == first


def test_theme_impact_is_drawn_on_its_own_thread_while_the_other_analytics_run(tiny, monkeypatch):
    """Its bootstrap is about a second of numpy on a large day; the customers at risk and the other
    analytic marts' statements run meanwhile, and its rows are written once it is done."""
    from pipelines.kpis import analytics, daily

    at_risk, seen = threading.Event(), {}
    real_impact, real_sql = analytics.theme_impact, daily.run_sql_file

    def impact(*args):
        seen["thread"] = threading.current_thread()
        seen["at_risk_meanwhile"] = at_risk.wait(timeout=10)  # the statements after it ran without waiting
        return real_impact(*args)

    def sql_file(conn, name, **params):
        if name == "marts/customers_at_risk.sql":
            at_risk.set()
        return real_sql(conn, name, **params)

    monkeypatch.setattr(analytics, "theme_impact", impact)
    monkeypatch.setattr(daily, "run_sql_file", sql_file)
    tiny.run_day(D)
    assert seen["at_risk_meanwhile"] and seen["thread"] is not threading.main_thread()
    with tiny.engine.connect() as conn:  # the rows of the test above, written all the same
        assert conn.execute(sa.text(
            "select impact from marts.theme_impact where kpi_date = :d and window_days = 7 "
            "and theme = 'delivery' and metric = 'nps'"), {"d": D}).scalar_one() == pytest.approx(-100 / 11)


def test_term_counts_are_taken_on_a_thread_while_the_day_statistics_are_written(tiny, monkeypatch):
    """Tokenising a large day's texts is about two seconds of Arrow: each day's are counted on a
    thread while the next day's texts are read, the last day's while the day statistics' statements
    run, and every day's counts are written all the same."""
    from pipelines.kpis import analytics, day_stats

    storing, read, counted = threading.Event(), [], []
    real_texts, real_counts, real_store = analytics.read_texts, analytics.term_counts, day_stats.store

    def texts(conn, low, high):
        read.append(low)
        return real_texts(conn, low, high)

    def counts(frame):
        # wait until this thread is no longer the only work under way: the next day's texts were read
        # (this is not the last day), or the day statistics began
        deadline, mine = time.monotonic() + 10, len(read)
        while not storing.is_set() and len(read) == mine and time.monotonic() < deadline:
            time.sleep(0.01)
        counted.append((threading.current_thread(), len(read) > mine or storing.is_set()))
        return real_counts(frame)

    def store(conn, first, last):
        storing.set()
        return real_store(conn, first, last)

    monkeypatch.setattr(analytics, "read_texts", texts)
    monkeypatch.setattr(analytics, "term_counts", counts)
    monkeypatch.setattr(day_stats, "store", store)
    tiny.run_day(D)
    assert len(counted) == len(read) > 1
    assert all(thread is not threading.main_thread() and meanwhile for thread, meanwhile in counted), counted
    with tiny.engine.connect() as conn:
        stored = conn.execute(sa.text("select distinct feedback_date from marts.term_day_counts")).scalars().all()
    assert sorted(stored) == sorted(read)


def test_kpis_built_day_by_day_equal_one_build_of_the_same_days(tmp_path, warehouse_url, monkeypatch):
    """Each build rewrites the changed items of dates built before and the day statistics of the
    dates it changed, and sums the windows from the stored days: after eight nightly builds over
    sample data with late items and review edits, every fact, KPI, impact and statistic equals
    what one build of the eight days computes."""
    start, end = D - timedelta(days=7), D
    config = family_config(tmp_path / "sources.yml")
    cfg = load_config(config)
    generate(tmp_path / "landing", start, end, scale=1, seed=5, tz=cfg.timezone, brand=cfg.brand,
             competitors=cfg.competitors)
    if warehouse_url.startswith("duckdb"):
        other = f"duckdb:///{tmp_path}/one-build.duckdb"
    else:
        other = warehouse_url.rsplit("/", 1)[0] + f"/{_postgres_database()}"
    tables = {}
    try:
        for label, url, chunk_days in (("nightly", warehouse_url, 1), ("one build", other, 8)):
            monkeypatch.setenv("CX_WAREHOUSE_URL", url)
            for variable, value in (("CX_HOME", tmp_path / label), ("CX_LANDING_DIR", tmp_path / "landing"),
                                    ("CX_PII_KEY", "same-key")):
                monkeypatch.setenv(variable, str(value))
            pipeline = Pipeline.from_env(config)
            pipeline.init_db()
            pipeline.backfill(start, end, chunk_days=chunk_days)
            with pipeline.engine.connect() as conn:  # without the load each fact was built from
                tables[label] = {t: sorted(tuple(v for k, v in r._mapping.items() if k != "load_id")
                                           for r in conn.execute(sa.text(f"select * from marts.{t}")))
                                 for t in BUILT_TABLES}
            pipeline.engine.dispose()
    finally:
        if not warehouse_url.startswith("duckdb"):
            _drop_database(other.rsplit("/", 1)[1])
    nightly, once = tables["nightly"], tables["one build"]
    assert len(nightly["kpi_daily"]) > 1000 and len(nightly["theme_impact"]) > 50
    late = {r[0] for r in nightly["kpi_day_stats"]} - {start + timedelta(days=i) for i in range(8)}
    assert late  # items dated before the first day arrived with it and later
    for table in BUILT_TABLES:
        assert nightly[table] == once[table], table


def test_a_build_keeps_the_spans_at_risk_of_customers_it_did_not_change(tmp_path, warehouse_url, monkeypatch):
    """Late items and edits change the interactions of a few customers of dates built before: a
    build rewrites those customers' spans at risk and keeps every other span as stored."""
    end = D
    pipeline = sample_history(tmp_path, warehouse_url, monkeypatch, D - timedelta(days=5), end)
    with pipeline.engine.begin() as conn:  # a marker no build writes
        conn.execute(sa.text("update marts.risk_spans set reason = 'as stored'"))
    run = pipeline.run_day(end, deliver=False)
    with pipeline.engine.connect() as conn:
        rows = conn.execute(sa.text("select customer_hash, reason from marts.risk_spans where first_date < :end"),
                            {"end": end}).all()
        # the customers of the last load: its new items and the edited versions of earlier ones
        touched = set(conn.execute(sa.text(
            "select f.customer_key from marts.fct_review as f join staging.stg_review as s "
            "on s.source = f.source and s.review_id = f.review_id where s._load_id = :run union "
            "select f.customer_key from marts.fct_mention as f join staging.stg_mention as s "
            "on s.source = f.source and s.mention_id = f.mention_id where s._load_id = :run union "
            "select f.customer_key from marts.fct_survey_response as f join staging.stg_survey_response as s "
            "on s.source = f.source and s.response_id = f.response_id where s._load_id = :run"),
            {"run": run.run_id}).scalars())
    rewritten = {who for who, reason in rows if reason != "as stored"}
    kept = [who for who, reason in rows if reason == "as stored"]
    assert rewritten and len(kept) > 10 * len(rewritten)
    assert rewritten <= touched
    pipeline.engine.dispose()

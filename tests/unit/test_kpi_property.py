"""Property: the warehouse's sufficient statistics give exactly what a plain-Python reference
computes item by item, for every metric, window and segment type (DuckDB, small random data)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.kpis import daily, day_stats
from pipelines.kpis.daily import consecutive_runs, read_inputs, write_day_statistics, write_kpi_daily
from pipelines.kpis.stats import compute_metrics
from pipelines.warehouse.db import insert_frame, make_engine, migrate
from tests.dimensions import add_dimension_members

Z = 1.959964
D0 = date(2026, 1, 1)
KPI_DATES = [D0 + timedelta(days=9), D0 + timedelta(days=4)]
TABLES = ["fct_survey_response", "fct_review", "fct_mention", "fct_feedback", "feedback_theme"]

opt = st.none
item = st.fixed_dictionaries({
    "family": st.sampled_from(["survey", "review", "mention"]),
    "day": st.integers(0, 9),
    "variant": st.integers(0, 1),
    "product": st.sampled_from([None, "p1", "p2"]),
    "location": st.sampled_from([None, "l1"]),
    "nps": st.one_of(opt(), st.integers(0, 10)),
    "csat": st.one_of(opt(), st.integers(1, 5)),
    "ces": st.one_of(opt(), st.integers(1, 7)),
    "stage": st.sampled_from([None, "use", "support"]),
    "touchpoint": st.sampled_from([None, "web", "app"]),
    "rating": st.one_of(opt(), st.integers(1, 5)),
    "reply_hours": st.one_of(opt(), st.integers(0, 48)),
    "brand": st.booleans(),
    "competitor": st.booleans(),
    "label": st.sampled_from([None, "positive", "neutral", "negative"]),
    "hint_stage": st.sampled_from([None, "purchase", "use"]),
    "hint_touchpoint": st.sampled_from([None, "store", "web"]),
    "pyramid": st.sampled_from([None, "utility", "pleasure"]),
    "themes": st.sets(st.sampled_from(["t1", "t2"])),
})


def wilson(k, n):
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return 100 * p, 100 * (centre - half), 100 * (centre + half)


def net(pos, neg, n):
    p, d = pos / n, neg / n
    value = 100 * (p - d)
    half = 100 * Z * math.sqrt(max(p + d - (p - d) ** 2, 0) / n)
    return value, max(value - half, -100), min(value + half, 100)


def mean_ci(xs):
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, math.nan, math.nan
    half = Z * statistics.stdev(xs) / math.sqrt(len(xs))
    return m, m - half, m + half


def segments(it) -> list[tuple[str, str]]:
    """The segments an item counts in, as kpi_inputs.sql assigns them."""
    text = it["label"] is not None
    survey = it["family"] == "survey"
    stage = (it["stage"] if survey else None) or (it["hint_stage"] if text else None)
    touch = (it["touchpoint"] if survey else None) or (it["hint_touchpoint"] if text else None)
    out = [("all", "all"), ("source", it["source"]), ("family", it["family"])]
    if it["family"] != "mention":
        out += [(k, it[k]) for k in ("product", "location") if it[k] is not None]
    out += [(k, v) for k, v in (("journey_stage", stage), ("touchpoint", touch)) if v is not None]
    if text and it["pyramid"]:
        out.append(("pyramid_level", it["pyramid"]))
    out += [("theme", t) for t in sorted(it["themes"])] if text else []
    return out


def group_metrics(members: list[dict]) -> dict[str, tuple]:
    """Every metric of one (date, window, segment) group: metric -> (value, n, low, high); n = 0 absent."""
    out = {}

    def put(metric, n, triple):
        if n:
            out[metric] = (triple[0], n, triple[1], triple[2])

    fam = {f: [m for m in members if m["family"] == f] for f in ("survey", "review", "mention")}
    nps = [m["nps"] for m in fam["survey"] if m["nps"] is not None]
    if nps:
        p, d = sum(x >= 9 for x in nps), sum(x <= 6 for x in nps)
        put("nps", len(nps), net(p, d, len(nps)))
        put("promoter_share", len(nps), wilson(p, len(nps)))
        put("detractor_share", len(nps), wilson(d, len(nps)))
    csat = [m["csat"] for m in fam["survey"] if m["csat"] is not None]
    if csat:
        put("csat", len(csat), wilson(sum(x >= 4 for x in csat), len(csat)))
        put("csat_mean", len(csat), mean_ci(csat))
    ces = [m["ces"] for m in fam["survey"] if m["ces"] is not None]
    if ces:
        put("ces", len(ces), mean_ci(ces))
        put("ces_easy_share", len(ces), wilson(sum(x >= 5 for x in ces), len(ces)))
    ratings = [m["rating"] for m in fam["review"] if m["rating"] is not None]
    if ratings:
        put("avg_rating", len(ratings), mean_ci(ratings))
        for k in range(1, 6):
            put(f"rating_share_{k}", len(ratings), wilson(sum(x == k for x in ratings), len(ratings)))
    for metric, rows in (("review_count", fam["review"]), ("mention_count", fam["mention"]),
                         ("response_count", fam["survey"])):
        put(metric, len(rows), (len(rows), math.nan, math.nan))
    if fam["review"]:
        replied = [m for m in fam["review"] if m["reply_hours"] is not None]
        put("reply_rate", len(fam["review"]), wilson(len(replied), len(fam["review"])))
        if replied:
            put("median_reply_hours", len(replied),
                (statistics.median(m["reply_hours"] for m in replied), math.nan, math.nan))
    brand = sum(m["brand"] for m in fam["mention"])
    voice = brand + sum(m["competitor"] for m in fam["mention"])
    if voice:
        put("share_of_voice", voice, wilson(brand, voice))
    labels = [m["label"] for m in members if m["label"] is not None]
    if labels:
        pos, neg = labels.count("positive"), labels.count("negative")
        put("positive_share", len(labels), wilson(pos, len(labels)))
        put("negative_share", len(labels), wilson(neg, len(labels)))
        put("net_sentiment", len(labels), net(pos, neg, len(labels)))
    return out


def reference(items: list[dict]) -> dict[tuple, tuple]:
    """Every kpi_daily row computed item by item: (date, window, metric, type, value) -> (value, n, low, high)."""
    out = {}
    for kpi_date in KPI_DATES:
        for window in (1, 7, 28):
            groups = defaultdict(list)
            for it in items:
                if kpi_date - timedelta(days=window - 1) <= it["date"] <= kpi_date:
                    for seg in segments(it):
                        groups[seg].append(it)
            for seg, members in groups.items():
                for metric, row in group_metrics(members).items():
                    out[(kpi_date, window, metric, *seg)] = row
    return out


def load(conn, items: list[dict]) -> None:
    for table in reversed(TABLES):  # children before the rows they reference
        conn.exec_driver_sql(f"delete from marts.{table}")
    frames = defaultdict(list)
    for i, it in enumerate(items):
        fid, ts = f"{it['source']}:{i}", pd.Timestamp(it["date"], tz="UTC")
        base = {"feedback_id": fid, "source": it["source"], "occurred_at": ts, "feedback_date": it["date"]}
        text = it["label"] is not None
        if it["family"] == "survey":
            frames["fct_survey_response"].append({**base, "response_id": str(i), "nps": it["nps"], "csat": it["csat"],
                                                  "ces": it["ces"], "journey_stage": it["stage"],
                                                  "touchpoint": it["touchpoint"], "product": it["product"],
                                                  "location": it["location"]})
        elif it["family"] == "review":
            frames["fct_review"].append({**base, "review_id": str(i), "rating": it["rating"],
                                         "product": it["product"], "location": it["location"],
                                         "is_replied": it["reply_hours"] is not None,
                                         "reply_hours": it["reply_hours"]})
        else:
            frames["fct_mention"].append({**base, "mention_id": str(i), "names_brand": it["brand"],
                                          "names_competitor": it["competitor"]})
        if text:
            survey = it["family"] == "survey"
            frames["fct_feedback"].append({
                **base, "family": it["family"], "text": "x", "sentiment_label": it["label"],
                "sentiment_score": {"positive": 0.5, "neutral": 0.0, "negative": -0.5}[it["label"]],
                "product": None if it["family"] == "mention" else it["product"],
                "location": None if it["family"] == "mention" else it["location"],
                "journey_stage": (it["stage"] if survey else None) or it["hint_stage"],
                "touchpoint": (it["touchpoint"] if survey else None) or it["hint_touchpoint"],
                "pyramid_level": it["pyramid"]})
            frames["feedback_theme"] += [{"feedback_id": fid, "theme": t, "feedback_date": it["date"]}
                                         for t in sorted(it["themes"])]
    float_cols = ("nps", "csat", "ces", "rating", "reply_hours", "sentiment_score")
    facts = [row for table in TABLES[:4] for row in frames[table]]
    if facts:  # the star schema's foreign keys: sources, dates, products ... exist before the facts
        add_dimension_members(conn, facts)
    for table in TABLES:
        rows = frames[table]
        if not rows:
            continue
        frame = pd.DataFrame(rows)
        frame = frame.astype({c: "float64" for c in float_cols if c in frame})
        insert_frame(conn, frame, f"marts.{table}")


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"duckdb:///{tmp_path_factory.mktemp('prop')}/w.duckdb")
    migrate(engine)
    yield engine
    engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(item, max_size=25))
def test_sql_statistics_match_the_item_by_item_reference(engine, raw):
    items = [{**it, "date": D0 + timedelta(days=it["day"]),
              "source": {"survey": "s", "review": "r", "mention": "m"}[it["family"]] + str(it["variant"])}
             for it in raw]
    with engine.begin() as conn:
        load(conn, items)
        write_day_statistics(conn, sorted({it["date"] for it in items}))
        rows = compute_metrics(*read_inputs(conn, sorted(KPI_DATES)))
        conn.rollback()
    got = {(r.kpi_date, r.window_days, r.metric, r.segment_type, r.segment_value):
           (r.value, r.sample_size, r.ci_low, r.ci_high) for r in rows.itertuples()}
    want = reference(items)
    assert set(got) == set(want)
    for key, (value, n, low, high) in want.items():
        g = got[key]
        assert g[1] == n, key
        assert g[0] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        assert g[2] == pytest.approx(low, rel=1e-9, abs=1e-9, nan_ok=True), key
        assert g[3] == pytest.approx(high, rel=1e-9, abs=1e-9, nan_ok=True), key


def test_day_statistics_are_written_for_each_run_of_consecutive_dates():
    days = [D0 + timedelta(days=i) for i in (9, 0, 1, 2, 5, 7, 8, 1)]
    assert consecutive_runs(days) == [(D0, D0 + timedelta(days=2)), (D0 + timedelta(days=5), D0 + timedelta(days=5)),
                                      (D0 + timedelta(days=7), D0 + timedelta(days=9))]
    assert consecutive_runs([]) == []
    # at most 4 days a run: 0..9 -> 0..3, 4..7, 8..9; the runs above are short enough already
    assert consecutive_runs([D0 + timedelta(days=i) for i in range(10)], 4) == [
        (D0, D0 + timedelta(days=3)), (D0 + timedelta(days=4), D0 + timedelta(days=7)),
        (D0 + timedelta(days=8), D0 + timedelta(days=9))]
    assert consecutive_runs(days, 3) == consecutive_runs(days)


def _items(count: int) -> list[dict]:
    """`count` items spread over days 0..9, each field cycling through its values."""
    out = []
    for i in range(count):
        family = ("survey", "review", "mention")[i % 3]
        out.append({"family": family, "day": i % 10, "variant": i % 2, "product": (None, "p1", "p2")[i % 3],
                    "location": (None, "l1")[i % 2], "nps": i % 11, "csat": 1 + i % 5, "ces": 1 + i % 7,
                    "stage": (None, "use", "support")[i % 3], "touchpoint": (None, "web", "app")[i % 3],
                    "rating": 1 + i % 5, "reply_hours": None if i % 4 == 0 else i % 48, "brand": i % 2 == 0,
                    "competitor": i % 3 == 0, "label": (None, "positive", "neutral", "negative")[i % 4],
                    "hint_stage": (None, "purchase", "use")[i % 3], "hint_touchpoint": (None, "store", "web")[i % 3],
                    "pyramid": (None, "utility", "pleasure")[i % 3], "themes": {"t1", "t2"} if i % 2 else {"t1"},
                    "date": D0 + timedelta(days=i % 10), "source": family[0] + str(i % 2)})
    return out


def test_many_dates_are_computed_a_few_at_a_time_with_the_same_rows(engine, monkeypatch):
    """A window statement's rows grow with the dates it covers; cut into parts, it writes the same rows."""
    dates = [D0 + timedelta(days=i) for i in range(10)]
    seen: dict[str, list] = {"stats": [], "kpis": []}
    sql_file, inputs = day_stats.run_sql_file, daily.read_inputs

    def run_sql_file(conn, name, **params):
        seen["stats"].append((name, params.get("min_date"), params.get("max_date")))
        return sql_file(conn, name, **params)

    def read_inputs(conn, part):
        seen["kpis"].append(list(part))
        return inputs(conn, part)

    monkeypatch.setattr(day_stats, "run_sql_file", run_sql_file)
    monkeypatch.setattr(daily, "read_inputs", read_inputs)

    def written(conn) -> tuple[int, list, list]:
        rows = write_kpi_daily(conn, dates)
        stats = conn.exec_driver_sql("select * from marts.kpi_day_stats order by all").all()
        kpis = conn.exec_driver_sql("select * from marts.kpi_daily order by all").all()
        return rows, stats, kpis

    monkeypatch.setattr(daily, "DATES_AT_ONCE", 10)
    with engine.begin() as conn:
        load(conn, _items(60))
        write_day_statistics(conn, dates)
        whole = written(conn)
        monkeypatch.setattr(daily, "DATES_AT_ONCE", 3)
        write_day_statistics(conn, dates)
        parts = written(conn)
        conn.rollback()
    assert whole[0] > 0 and whole[1] and whole[2]
    assert parts == whole
    # 10 at once: one statement per file for 0..9 and one read of the 10 kpi dates; then 3 days at a time
    day = [D0 + timedelta(days=i) for i in range(10)]
    assert [(lo, hi) for name, lo, hi in seen["stats"] if name == "marts/kpi_day_stats.sql"] == [
        (day[0], day[9]), (day[0], day[2]), (day[3], day[5]), (day[6], day[8]), (day[9], day[9])]
    assert [len(part) for part in seen["kpis"]] == [10, 3, 3, 3, 1]

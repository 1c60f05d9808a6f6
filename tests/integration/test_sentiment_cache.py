"""The sentiment cache in a real warehouse (DuckDB and PostgreSQL): each distinct text scored once
per model version, stored in bulk, rolled back with its load, and used by the staging path."""

from __future__ import annotations

import hashlib
import uuid
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.enrich.sentiment import VaderModel, get_model
from pipelines.enrich.sentiment_cache import WarehouseCache
from pipelines.enrich.stage import to_staging
from pipelines.sources.base import conform
from pipelines.warehouse.db import make_engine, migrate

TEXTS = ["Still waiting for my refund.", "Brilliant service, thank you!", "Can I change my address?",
         "On hold for 40 minutes 😡"]


def _rows(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "select text_hash, model, model_version, score from ops.sentiment_cache order by text_hash")).all()


def test_each_text_is_scored_once_per_model_version(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    model = get_model("cx_vader")
    with engine.begin() as conn:
        cache = WarehouseCache(conn, model)
        first = cache(TEXTS)
        assert (cache.cache.hits, cache.cache.misses) == (0, 4)
    assert np.array_equal(first, model.score(TEXTS))
    rows = _rows(engine)
    assert len(rows) == 4 and {r.model_version for r in rows} == {model.version}
    # the key is md5 of the UTF-8 text as a uuid (the warehouse computes it; both dialects agree with Python)
    assert uuid.UUID(hashlib.md5(TEXTS[3].encode()).hexdigest()) in {r.text_hash for r in rows}

    with engine.begin() as conn:
        cache = WarehouseCache(conn, model)
        again = cache([*TEXTS, "Arrived a day early."])
        assert (cache.cache.hits, cache.cache.misses) == (4, 1)
    assert np.array_equal(again[:4], first)
    assert len(_rows(engine)) == 5

    other = get_model("vader")  # another model (or an edited lexicon) is another key
    with engine.begin() as conn:
        cache = WarehouseCache(conn, other)
        cache(TEXTS)
        assert cache.cache.misses == 4
    assert len(_rows(engine)) == 9
    engine.dispose()


def test_a_cached_score_is_served_from_the_warehouse_not_recomputed(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    model = get_model("cx_vader")
    with engine.begin() as conn:
        WarehouseCache(conn, model)(TEXTS[:1])
        conn.execute(sa.text("update ops.sentiment_cache set score = 0.5"))  # a marker only the cache knows
    with engine.begin() as conn:
        assert WarehouseCache(conn, model)(TEXTS[:1]).tolist() == [0.5]
    engine.dispose()


def test_a_text_repeated_in_a_batch_is_stored_once_and_served_alike(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    model = get_model("cx_vader")
    batch = [TEXTS[0], TEXTS[1], TEXTS[0]]
    with engine.begin() as conn:
        fresh = WarehouseCache(conn, model)(batch)
    with engine.begin() as conn:
        cache = WarehouseCache(conn, model)
        cached = cache(batch)
        assert (cache.cache.hits, cache.cache.misses) == (3, 0)
    assert np.array_equal(fresh, model.score(batch)) and np.array_equal(cached, fresh)
    assert len(_rows(engine)) == 2
    engine.dispose()


def test_scores_of_a_failed_load_roll_back(warehouse_url):
    engine = make_engine(warehouse_url)
    migrate(engine)
    try:
        with engine.begin() as conn:
            WarehouseCache(conn, get_model("cx_vader"))(TEXTS)
            raise RuntimeError("the load fails after scoring")
    except RuntimeError:
        pass
    assert _rows(engine) == []
    engine.dispose()


def test_staging_scores_through_the_cache_with_the_configured_model(warehouse_url, tmp_path):
    engine = make_engine(warehouse_url)
    migrate(engine)
    good = conform(pd.DataFrame({  # a parsed batch has every canonical column (email, customer_id too)
        "response_id": ["r1", "r2", "r3"],
        "submitted_at": pd.to_datetime(["2026-03-10T10:00Z"] * 3, utc=True),
        "respondent": ["a@x", "b@x", "c@x"],
        "nps": [2.0, 10.0, 5.0], "csat": [1.0, 5.0, 3.0], "ces": [None] * 3,
        "comment": ["Waited 3 hours on the phone.", "Lovely staff.", "Waited 3 hours on the phone."],
        "journey_stage": None, "touchpoint": None, "product": None, "location": None, "channel": None,
        "_file": "f.csv", "_line": [1, 2, 3],
    }), "survey")
    lexicon = tmp_path / "lexicon.tsv"
    lexicon.write_text("lovely\t-3.0\n")  # a deliberately perverse lexicon: the model passed in is used
    perverse = VaderModel("perverse", lexicon)
    with engine.begin() as conn:
        staged = to_staging(good, "survey", "nps", tz=ZoneInfo("UTC"), pii_key=b"k", load_id="run",
                            sentiment=perverse, conn=conn)
    assert staged["sentiment_label"].tolist() == ["neutral", "negative", "neutral"]
    with engine.begin() as conn:
        staged = to_staging(good, "survey", "nps", tz=ZoneInfo("UTC"), pii_key=b"k", load_id="run", conn=conn)
    assert staged["sentiment_label"].tolist() == ["negative", "positive", "negative"]
    rows = _rows(engine)
    assert sorted((r.model, r.score <= -0.05) for r in rows) == [
        ("cx_vader", False), ("cx_vader", True), ("perverse", False), ("perverse", True)]
    engine.dispose()

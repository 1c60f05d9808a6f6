"""Choosing the sentiment model from the command line's point of view: a bad name is exit 2 with
the place it came from, and the chosen model is the one whose scores land in the warehouse."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from tests.cli import ROOT, cx


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_PII_KEY="e2e-key", COLUMNS="200")
    return env


def test_unknown_model_exits_2_naming_where_it_came_from(tmp_path):
    env = base_env(tmp_path)
    proc = cx({**env, "CX_SENTIMENT_MODEL": "bert"}, "status", check=False)
    assert proc.returncode == 2
    assert "CX_SENTIMENT_MODEL: unknown sentiment model 'bert'" in proc.stdout + proc.stderr

    config = tmp_path / "sources.yml"
    config.write_text((ROOT / "config" / "sources.yml").read_text().replace("model: cx_vader", "model: bert"))
    proc = cx(env, "status", "--config", str(config), check=False)
    line = next(i for i, text in enumerate(config.read_text().splitlines(), 1) if "model: bert" in text)
    assert proc.returncode == 2
    assert f"{config}:{line}: sentiment.model: unknown sentiment model 'bert'" in proc.stdout + proc.stderr


def test_the_configured_model_scores_the_run_through_the_cache(tmp_path):
    env = base_env(tmp_path)
    cx(env, "sample-data", "--start", "2026-03-10", "--end", "2026-03-10")
    cx(env, "db", "init")
    cx({**env, "CX_SENTIMENT_MODEL": "vader"}, "run", "--date", "2026-03-10")  # not the default
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("select distinct model from ops.sentiment_cache").fetchall() == [("vader",)]
        staged, unmatched = con.sql(
            "with staged as (select text, sentiment_score from staging.stg_review union all "
            "select text, sentiment_score from staging.stg_mention union all "
            "select text, sentiment_score from staging.stg_survey_response) "
            "select count(*), count(*) filter (where c.score is distinct from s.sentiment_score) "
            "from staged as s left join ops.sentiment_cache as c on c.text_hash = md5(s.text)::uuid "
            "where trim(s.text) <> ''").fetchone()
    assert staged > 100 and unmatched == 0  # every staged score is the cached vader score of its text

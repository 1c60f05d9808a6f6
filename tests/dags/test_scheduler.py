"""cx_nightly under a real Airflow scheduler: `airflow backfill create` over three days of sample data.

Embedded topology (pipelines.topology): LocalExecutor, SQLite metadata, DuckDB warehouse. The days
straddle the clocks going forward in London (29 March 2026).
"""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("airflow.sdk")

from tests.dags.airflow_cluster import D1, D3, DAYS, marts_snapshot  # noqa: E402


@pytest.mark.airflow
def test_backfill_with_a_real_scheduler(local_backfill, tmp_path):
    import duckdb

    assert sorted(local_backfill["states"].values()) == ["success"] * 3, local_backfill["states"]
    path = local_backfill["warehouse"].removeprefix("duckdb:///")
    con = duckdb.connect(path, read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        # one successful cx run per business day, each loading every source once
        assert q("select business_date::varchar, status from ops.runs order by 1") == [(d, "success") for d in DAYS]
        assert q("select count(*), count(distinct (business_date, source)) from ops.source_runs") == [(9, 9)]
        assert [d for (d,) in q("select distinct kpi_date::varchar from marts.kpi_daily order by 1")][-3:] == DAYS
        # no item twice: natural keys are unique in staging and marts
        keys = [("staging.stg_review", "source, review_id"), ("staging.stg_mention", "source, mention_id"),
                ("staging.stg_survey_response", "source, response_id"), ("marts.fct_feedback", "feedback_id")]
        for table, key in keys:
            total, distinct = q(f"select count(*), count(distinct ({key})) from {table}")[0]
            assert total == distinct > 0, table
    finally:
        con.close()

    # the same days through the CLI, without Airflow, give the same marts
    reference = tmp_path / "cx"
    cluster = local_backfill["cluster"]
    env = {**cluster.env, "CX_HOME": str(reference), "CX_WAREHOUSE_URL": f"duckdb:///{reference / 'wh.duckdb'}",
           "CX_LANDING_DIR": str(cluster.tmp / "cx" / "landing")}
    cluster.env, saved = env, cluster.env
    try:
        cluster.run(sys.executable, "-m", "pipelines", "db", "init", log="cli_db_init")
        cluster.run(sys.executable, "-m", "pipelines", "backfill", "--start", D1, "--end", D3, "--no-deliver",
                    log="cli_backfill")
    finally:
        cluster.env = saved
    assert marts_snapshot(local_backfill["warehouse"], D1, D3) == marts_snapshot(env["CX_WAREHOUSE_URL"], D1, D3)

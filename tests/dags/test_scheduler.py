"""cx_nightly under a real Airflow scheduler: `airflow backfill create` over three days of sample data.

Embedded topology (pipelines.topology): LocalExecutor, SQLite metadata, DuckDB warehouse. The days
straddle the clocks going forward in London (29 March 2026).
"""

from __future__ import annotations

import pytest

from tests.needs import require_module

require_module("airflow.sdk", "the airflow extra is not installed")

from tests.dags.airflow_cluster import DAYS  # noqa: E402
from tests.integration.conftest import FAMILY_SOURCES  # noqa: E402


@pytest.mark.airflow
def test_backfill_with_a_real_scheduler(local_backfill):
    import duckdb

    assert sorted(local_backfill["states"].values()) == ["success"] * 3, local_backfill["states"]
    path = local_backfill["warehouse"].removeprefix("duckdb:///")
    con = duckdb.connect(path, read_only=True)
    try:
        q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
        # one successful cx run per business day, each loading every source once
        assert q("select business_date::varchar, status from ops.runs order by 1") == [(d, "success") for d in DAYS]
        configured = set(FAMILY_SOURCES)
        loads = len(DAYS) * len(configured)
        assert q("select count(*), count(distinct (business_date, source)) from ops.source_runs") == [(loads, loads)]
        assert [d for (d,) in q("select distinct kpi_date::varchar from marts.kpi_daily order by 1")][-3:] == DAYS
        accounting = dict(q("select source, sum(rows_in) from ops.row_accounting group by 1"))
        loaded = dict(q("select source, sum(rows_loaded) from ops.row_accounting group by 1"))
        assert set(accounting) == configured
        for source, table, key in [("trustpilot", "stg_review", "review_id"), ("x", "stg_mention", "mention_id"),
                                   ("nps_survey", "stg_survey_response", "response_id")]:
            # every input line landed exactly once (a retried or doubled load would land it twice)...
            assert q(f"select count(*), count(distinct (_file, _line)) from raw.{source}") == [
                (accounting[source], accounting[source])]
            # ...and every loaded item is in staging once: the three days' items are all distinct
            assert q(f"select count(*), count(distinct {key}) from staging.{table} where source = '{source}'") == [
                (loaded[source], loaded[source])]
    finally:
        con.close()

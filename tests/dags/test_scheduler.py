"""cx_nightly under a real Airflow scheduler: `airflow backfill create` over three days of sample data.

Embedded topology (pipelines.topology): LocalExecutor, SQLite metadata, DuckDB warehouse. The days
straddle the clocks going forward in London (29 March 2026).

Scaled out, the production topology run natively: CeleryExecutor with Redis as broker, PostgreSQL
for the Airflow metadata and the Celery results, a separate PostgreSQL warehouse, and two `airflow
celery worker` processes. The same backfill must spread over both workers and give the same marts
as the embedded one. Both tests are in one file so that they run on one test worker, which then
backfills the embedded topology once for both.
"""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.needs import require, require_module

require_module("airflow.sdk", "the airflow extra is not installed")

from pipelines.topology import CELERY, COMPONENTS, Topology  # noqa: E402
from tests.dags.airflow_cluster import D1, D3, DAYS, Cluster, free_port, marts_snapshot, redis_reachable  # noqa: E402
from tests.integration.conftest import (  # noqa: E402
    FAMILY_SOURCES,
    PG_ADMIN_URL,
    _drop_database,
    _postgres_database,
)


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


WORKERS = ("worker1", "worker2")


@pytest.fixture
def celery_cluster(tmp_path):
    """The production topology, natively: every component of COMPONENTS[CELERY], the worker twice."""
    require(redis_reachable(), "Redis is not reachable at 127.0.0.1:6379")
    require_module("airflow.providers.celery", "apache-airflow-providers-celery is not installed (the `celery` extra)")
    metadata, warehouse = _postgres_database(), _postgres_database()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    port = free_port()
    topology = Topology(
        executor=CELERY, metadata_url=f"{base}/{metadata}", warehouse_url=f"{base}/{warehouse}",
        api_url=f"http://localhost:{port}", smtp_host="127.0.0.1", smtp_port=free_port(),
        broker_url="redis://127.0.0.1:6379/0", result_backend=f"db+{base}/{metadata}",
    )
    # a queue of its own, so other users of the shared Redis cannot take (or give) this test's tasks
    queue = f"cx_test_{uuid.uuid4().hex[:8]}"
    cluster = Cluster(tmp_path, topology, port, {
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.dags.airflow_cluster.worker_hostname",
    })
    try:
        yield cluster, queue
    finally:
        cluster.stop()
        _drop_database(metadata)
        _drop_database(warehouse)


@pytest.mark.airflow
@pytest.mark.postgres
def test_celery_backfill_spreads_over_two_workers(celery_cluster, local_backfill):
    cluster, queue = celery_cluster
    cluster.run(sys.executable, "-m", "pipelines", "sample-data", "--start", D1, "--end", D3, log="sample_data")
    cluster.run(sys.executable, "-m", "pipelines", "db", "init", log="cx_db_init")
    cluster.airflow("db", "migrate", log="db_migrate")
    for component in COMPONENTS[CELERY]:
        if component == "celery worker":
            for name in WORKERS:
                # --skip-serve-logs: two log servers on one host would clash on port 8793
                cluster.start(name, "celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", "1",
                              "--queues", queue, "--skip-serve-logs", env={"CX_TEST_WORKER_NAME": name})
        else:
            cluster.start(component, *component.split())
    cluster.wait_api()
    cluster.wait_parsed("cx_nightly")
    cluster.airflow("dags", "unpause", "cx_nightly", log="unpause")
    # one day at a time, as the DAG's max_active_runs says (a backfill ignores it): days share dirty mart dates
    cluster.airflow("backfill", "create", "--dag-id", "cx_nightly", "--from-date", D1, "--to-date", D3,
                    "--max-active-runs", "1", log="backfill")
    states: dict[str, str] = {}

    def finished() -> bool:
        states.update(cluster.backfill_states("cx_nightly"))
        return len(states) == 3 and all(s in ("success", "failed") for s in states.values())

    cluster.wait_for(finished, "three backfill runs to finish", timeout=600, every=5)
    assert sorted(states.values()) == ["success"] * 3, states

    hosts = dict(cluster.query("select hostname, count(*) from task_instance where dag_id = 'cx_nightly' "
                               "group by hostname"))
    assert set(hosts) == set(WORKERS), hosts  # every task ran on a worker, and both workers ran some
    # the same marts as the embedded topology (LocalExecutor, DuckDB) computed for the same days
    expected = marts_snapshot(local_backfill["warehouse"], D1, D3)
    assert expected["kpi_daily"] and expected["fct_feedback"]
    assert marts_snapshot(cluster.env["CX_WAREHOUSE_URL"], D1, D3) == expected

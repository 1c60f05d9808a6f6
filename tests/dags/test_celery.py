"""cx_nightly scaled out: the production topology (pipelines.topology) run natively.

CeleryExecutor with Redis as broker, PostgreSQL for the Airflow metadata and the Celery results,
a separate PostgreSQL warehouse, and two `airflow celery worker` processes. The same three-day
backfill as tests/dags/test_scheduler.py must spread over both workers and give the same marts.
"""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.needs import require, require_module

require_module("airflow.sdk", "the airflow extra is not installed")

from pipelines.topology import CELERY, COMPONENTS, Topology  # noqa: E402
from tests.dags.airflow_cluster import D1, D3, Cluster, free_port, marts_snapshot, redis_reachable  # noqa: E402
from tests.integration.conftest import PG_ADMIN_URL, _drop_database, _postgres_database  # noqa: E402

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

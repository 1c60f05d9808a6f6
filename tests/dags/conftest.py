"""The embedded-topology backfill, shared by the scheduler and Celery tests; the loopback SMTP fixture."""

from __future__ import annotations

import sys

import pytest

from pipelines.topology import LOCAL, Topology
from tests.dags.airflow_cluster import D1, D3, Cluster, free_port
from tests.integration.test_alerts import smtp_connection  # noqa: F401 - a loopback SMTP server as smtp_default


@pytest.fixture(scope="session")
def local_backfill(tmp_path_factory) -> dict:
    """Three days backfilled by a scheduler + dag-processor + API server (LocalExecutor on SQLite)."""
    tmp = tmp_path_factory.mktemp("local_backfill")
    port = free_port()
    warehouse = f"duckdb:///{tmp / 'cx' / 'warehouse.duckdb'}"
    topology = Topology(executor=LOCAL, metadata_url=f"sqlite:///{tmp / 'airflow.db'}", warehouse_url=warehouse,
                        api_url=f"http://localhost:{port}", smtp_host="127.0.0.1", smtp_port=free_port())
    cluster = Cluster(tmp, topology, port, {})
    cluster.run(sys.executable, "-m", "pipelines", "sample-data", "--start", D1, "--end", D3, log="sample_data")
    cluster.airflow("db", "migrate", log="db_migrate")
    # planned before the components start: on SQLite a CLI write racing the scheduler can hit "database is locked"
    cluster.airflow("dags", "reserialize", log="reserialize")
    cluster.airflow("dags", "unpause", "cx_nightly", log="unpause")  # runs of a paused DAG stay queued
    # one day at a time, as the DAG's max_active_runs says (a backfill ignores it)
    cluster.airflow("backfill", "create", "--dag-id", "cx_nightly", "--from-date", D1, "--to-date", D3,
                    "--max-active-runs", "1", log="backfill")
    try:
        cluster.start("api-server", "api-server")
        cluster.wait_api()  # tasks report to it from their first second
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        states: dict[str, str] = {}

        def finished() -> bool:
            states.update(cluster.backfill_states("cx_nightly"))
            return len(states) == 3 and all(s in ("success", "failed") for s in states.values())

        cluster.wait_for(finished, "three backfill runs to finish", timeout=600, every=5)
    finally:
        cluster.stop()
    return {"states": states, "warehouse": warehouse}

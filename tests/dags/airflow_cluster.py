"""Airflow run natively for tests: the components of a `pipelines.topology.Topology` as processes."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.topology import Topology
from tests.integration.conftest import family_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: `airflow` lives next to python
# the days the scheduler tests backfill: they straddle the clocks going forward in London (29 March)
D1, D3 = "2026-03-28", "2026-03-30"
DAYS = ["2026-03-28", "2026-03-29", "2026-03-30"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """Airflow components sharing one environment; stopped (process groups) when the test ends."""

    def __init__(self, tmp: Path, topology: Topology, api_port: int, extra_env: dict[str, str]) -> None:
        self.tmp = tmp
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.api_port = api_port
        self.procs: list[tuple[str, subprocess.Popen]] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CX_"))}
        env.update(topology.env())
        env.update({
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "true",
            # only the runs a test creates: no scheduled run for "yesterday" when the DAG is unpaused
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "false",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "CX_HOME": str(tmp / "cx"),
            "CX_CONFIG": str(family_config(tmp / "sources.yml")),
            "CX_PII_KEY": "test-key",
        })
        env.update(extra_env)
        self.env = env

    def run(self, *args: str, log: str, timeout: int = 300) -> str:
        """A one-off command (`airflow ...`, `python -m pipelines ...`); fails the test on a non-zero exit."""
        path = self.logs / f"{log}.log"
        with path.open("w") as out:
            proc = subprocess.run(list(args), env=self.env, cwd=self.tmp, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout)
        output = path.read_text(errors="replace")
        if proc.returncode:
            pytest.fail(f"{' '.join(args)}: exit {proc.returncode} (log {path})\n{output[-3000:]}")
        return output

    def airflow(self, *args: str, log: str, timeout: int = 300) -> str:
        return self.run(str(BIN / "airflow"), *args, log=log, timeout=timeout)

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> None:
        """Start a long-running component in its own process group."""
        out = (self.logs / f"{name}.log").open("w")
        proc = subprocess.Popen([str(BIN / "airflow"), *args], env={**self.env, **(env or {})}, cwd=self.tmp,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc))

    def wait_api(self, timeout: float = 90) -> None:
        self.wait_for(lambda: _http_ok(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health"),
                      "the API server to answer", timeout)

    def wait_parsed(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has serialized `dag_id` (backfill create needs it)."""
        self.wait_for(lambda: bool(self.query("select 1 from serialized_dag where dag_id = :d", d=dag_id)),
                      f"{dag_id} to be parsed", timeout)

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float, every: float = 2) -> None:
        """Poll `check` until true; fail naming `what` and any component that died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [(n, p.returncode) for n, p in self.procs if p.poll() is not None]
            if dead:
                pytest.fail(f"components exited while waiting for {what}: {dead} (logs in {self.logs})")
            if check():
                return
            time.sleep(every)
        pytest.fail(f"timed out after {timeout}s waiting for {what} (logs in {self.logs})")

    def stop(self) -> None:
        """SIGTERM each component's process group, then SIGKILL what is left."""
        for _, proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def query(self, sql: str, **params) -> list[tuple]:
        """Rows from the Airflow metadata database (cheaper than an `airflow` CLI call per poll)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def backfill_states(self, dag_id: str) -> dict[str, str]:
        """run_id → state of the backfill runs of `dag_id`."""
        return dict(self.query("select run_id, state from dag_run where dag_id = :dag_id and run_type = 'backfill'",
                               dag_id=dag_id))


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200
    except OSError:
        return False


def marts_snapshot(warehouse_url: str, start: str, end: str) -> dict[str, list[tuple]]:
    """kpi_daily and fct_feedback rows for start..end, sorted and normalised so DuckDB and PostgreSQL compare."""
    import sqlalchemy as sa

    queries = {
        "kpi_daily": "select kpi_date, window_days, metric, segment_type, segment_value, value, sample_size, "
                     "ci_low, ci_high from marts.kpi_daily where kpi_date between :start and :end",
        "fct_feedback": "select feedback_id, family, source, feedback_date, sentiment_label, rating, nps, csat, ces, "
                        "product, location from marts.fct_feedback where feedback_date between :start and :end",
    }
    engine = sa.create_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            return {name: sorted(tuple(_normal(v) for v in row)
                                 for row in conn.execute(sa.text(sql), {"start": start, "end": end}))
                    for name, sql in queries.items()}
    finally:
        engine.dispose()


def _normal(value):
    if isinstance(value, float):
        return round(value, 9)
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


def worker_hostname() -> str:
    """`core.hostname_callable` of the test components: each Celery worker reports its own name.

    Two workers on one machine otherwise record the same host name on the task instances they ran.
    """
    return os.environ.get("CX_TEST_WORKER_NAME") or socket.getfqdn()


def redis_reachable(host: str = "127.0.0.1", port: int = 6379) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False

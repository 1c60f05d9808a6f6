"""The Airflow deployment of cx_nightly, defined once.

`docker-compose.yml` runs this topology in containers; the scheduler tests start the same
components natively. tests/deploy checks that the compose file matches what is defined here.

- embedded: LocalExecutor, SQLite metadata, DuckDB warehouse. DuckDB has a single writer, so
  one task runs at a time (`parallelism` 1).
- production: CeleryExecutor with Redis as broker, PostgreSQL for the Airflow metadata and the
  Celery results, a separate PostgreSQL warehouse, SMTP for the reports and failure alerts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CELERY = "CeleryExecutor"
LOCAL = "LocalExecutor"

# Airflow components of each topology, as `airflow <command>` arguments (one worker shown)
COMPONENTS = {
    LOCAL: ("scheduler", "dag-processor", "api-server"),
    CELERY: ("scheduler", "dag-processor", "api-server", "triggerer", "celery worker"),
}

# SQLite metadata is shared by several processes: wait for a lock instead of failing after 5 s
SQLITE_CONNECT_ARGS = {"timeout": 60}

# Connections the DAG's tasks and callbacks may use (CONTRACT.md): warehouse and SMTP
CONNECTIONS = ("cx_warehouse", "smtp_default")


@dataclass(frozen=True)
class Topology:
    """Where each part of a deployment lives; `env()` is the environment every component shares."""

    executor: str
    metadata_url: str  # SQLAlchemy URL of the Airflow metadata database
    warehouse_url: str  # CX_WAREHOUSE_URL
    api_url: str  # base URL of the Airflow API server, e.g. http://localhost:8080
    smtp_host: str
    smtp_port: int
    broker_url: str | None = None  # Celery only
    result_backend: str | None = None  # Celery only: db+postgresql://...

    def env(self) -> dict[str, str]:
        """Environment variables (not secrets, not paths) every Airflow component gets."""
        env = {
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "true",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "CX_WAREHOUSE_URL": self.warehouse_url,
            "CX_SMTP_URL": f"smtp://{self.smtp_host}:{self.smtp_port}",
            "AIRFLOW_CONN_CX_WAREHOUSE": self.warehouse_url,
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection(self.smtp_host, self.smtp_port),
        }
        if self.executor == CELERY:
            if not (self.broker_url and self.result_backend):
                raise ValueError("a CeleryExecutor topology needs a broker_url and a result_backend")
            env["AIRFLOW__CELERY__BROKER_URL"] = self.broker_url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = self.result_backend
        else:
            env["AIRFLOW__CORE__PARALLELISM"] = "1"
        if self.metadata_url.startswith("postgresql+psycopg://"):
            # psycopg 3 is async too; Airflow would otherwise look for asyncpg
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = self.metadata_url
        if self.metadata_url.startswith("sqlite"):
            for key in ("SQL_ALCHEMY_CONNECT_ARGS", "SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
                env[f"AIRFLOW__DATABASE__{key}"] = f"{__name__}.SQLITE_CONNECT_ARGS"
        return env


def smtp_connection(host: str, port: int) -> str:
    """The `smtp_default` connection for a plain local SMTP server (SSL and STARTTLS are on by default)."""
    return json.dumps({"conn_type": "smtp", "host": host, "port": port,
                       "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "cx-pipeline@localhost"}})


def secret_names() -> tuple[str, ...]:
    """Secrets every component must share (set from .env in compose, generated per test natively)."""
    return ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "CX_PII_KEY")

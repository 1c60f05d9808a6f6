"""docker-compose.yml is a valid Compose file and runs the topology the native Celery test proves.

There is no Docker engine on the test machines: the file is validated against the Compose
specification's JSON schema (tests/deploy/compose_spec.json, from the compose-spec project,
Apache-2.0, as shipped in the docker-compose 1.29.2 package), and its Airflow environment is
compared with `pipelines.topology`, which tests/dags/test_scheduler.py runs natively.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from pipelines.topology import CELERY, COMPONENTS, Topology, secret_names

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
RAW = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
# what `cp .env.example .env` plus filled-in secrets gives
DOTENV = {k: v or f"secret-{k.lower()}" for k, v in
          (line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
           if line.strip() and not line.startswith("#"))}
AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-worker": "celery worker"}


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: $$, ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    def one(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return arg if op == ":-" else ""
    return re.sub(r"\$\$|\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def common_env(env: dict[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), env) for k, v in RAW["x-airflow-common"]["environment"].items()}


def test_valid_against_the_compose_schema():
    jsonschema.Draft7Validator(SCHEMA).validate(RAW)


def test_the_schema_rejects_a_broken_file():
    """The check has teeth: a misspelt service key and a bad depends_on condition are caught."""
    broken = json.loads(json.dumps(RAW))
    broken["services"]["redis"]["helthcheck"] = broken["services"]["redis"].pop("healthcheck")
    broken["services"]["airflow-worker"]["depends_on"]["redis"]["condition"] = "service_ready"
    errors = list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))
    assert {e.json_path for e in errors} >= {"$.services.redis", "$.services['airflow-worker'].depends_on"}


def test_services_and_health_checks():
    services = RAW["services"]
    assert {"postgres", "warehouse-db", "redis", "mailpit", "airflow-init"} | set(AIRFLOW_SERVICES) <= set(services)
    # every long-running component has a health check; Airflow waits for its databases and broker
    for name in {"postgres", "warehouse-db", "redis", "mailpit", *AIRFLOW_SERVICES}:
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
        assert all(depends[db]["condition"] == "service_healthy" for db in ("postgres", "warehouse-db", "redis"))
    # metadata and warehouse are separate PostgreSQL servers
    assert services["postgres"]["volumes"] != services["warehouse-db"]["volumes"]


def test_components_are_the_topology():
    assert sorted(RAW["services"][s]["command"] for s in AIRFLOW_SERVICES) == sorted(COMPONENTS[CELERY])


def test_environment_is_the_topology():
    """The same executor, databases, broker, connections and settings as the native Celery test."""
    env = common_env(DOTENV)
    password, warehouse_password = DOTENV["AIRFLOW_DB_PASSWORD"], DOTENV["CX_WAREHOUSE_PASSWORD"]
    topology = Topology(
        executor=CELERY,
        metadata_url=f"postgresql+psycopg://airflow:{password}@postgres/airflow",
        warehouse_url=f"postgresql+psycopg://cx:{warehouse_password}@warehouse-db:5432/cx",
        api_url="http://airflow-apiserver:8080", smtp_host="mailpit", smtp_port=1025,
        broker_url="redis://redis:6379/0", result_backend=f"db+postgresql+psycopg://airflow:{password}@postgres/airflow",
    )
    for key, value in topology.env().items():
        assert key in env, f"docker-compose.yml lacks {key}"
        same = json.loads(env[key]) == json.loads(value) if value.startswith("{") else env[key] == value
        assert same, f"{key}: compose has {env[key]!r}, the topology {value!r}"
    for name in secret_names():
        assert env[name].startswith("secret-"), f"{name} must come from .env"


def test_secrets_are_required_and_never_committed():
    with pytest.raises(KeyError, match="AIRFLOW_DB_PASSWORD"):
        common_env({k: v for k, v in DOTENV.items() if k != "AIRFLOW_DB_PASSWORD"})
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line.strip() and not line.startswith("#"))
    for name in ("AIRFLOW_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY",
                 "CX_WAREHOUSE_PASSWORD", "CX_PII_KEY"):
        assert example[name] == "", f".env.example must leave {name} empty"


def test_dockerfile_extends_the_airflow_image_in_use():
    from importlib.metadata import version

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:(\S+)$", dockerfile, re.M).group(1) == version("apache-airflow")
    assert "/opt/cx[celery]" in dockerfile and "plugins/ /opt/airflow/plugins/" in dockerfile

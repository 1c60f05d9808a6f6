"""
# CX nightly

Every night at 02:00 Europe/London: reviews, social mentions and survey exports for **business
day D** → validated and loaded per source → marts and KPIs → HTML report → email.

| task | does |
|---|---|
| `list_sources` | reads `sources.yml` at run time: adding a source needs no DAG change |
| `start_run` | migrates the warehouse and records the run in `ops.runs` |
| `load_source` | one mapped task per source: extract, validate, load; a failed source is recorded, then fails |
| `build_marts` | rebuilds marts and `marts.kpi_daily` for the dates the loads touched, even if a source failed |
| `publish` | renders the report for D and delivers it (the delivery ledger never double-sends) |
| `finish_run` | records `success` or `failed` in `ops.runs`; fails the DAG run if any task failed |

**Which day.** D is the Europe/London date of the run's logical date. A scheduled or backfill run
covers the data interval that starts at 02:00 on D and runs at 02:00 on D+1, so its logical date
(= the start of its data interval) is on D. `airflow dags test cx_nightly D` and a manual run with
logical date D process D; a manual run without a logical date processes the last complete
interval, i.e. yesterday.

**Backfill.** `airflow backfill create --dag-id cx_nightly --from-date D1 --to-date D2T12:00
--max-active-runs 1` runs D1..D2, one day at a time. Airflow reads a bare `--to-date D2` as
midnight UTC, before D2's 02:00 logical date, so D2 itself would be left out; and a backfill
ignores the DAG's `max_active_runs` (its own default is 10). Backfill runs do not email unless
the run conf says `{"deliver": true}`.

**Configuration** comes from the environment, exactly as for the `cx` CLI: `CX_HOME`,
`CX_CONFIG`, `CX_WAREHOUSE_URL`, `CX_LANDING_DIR`, `CX_SMTP_URL`, `CX_PII_KEY`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, TriggerRule, chain, dag, get_current_context, task

if TYPE_CHECKING:
    from pipelines.run import Pipeline

TIMEZONE = "Europe/London"
log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "owner": "cx-data",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
}


def business_day(logical_date: datetime | None, data_interval_start: datetime | None) -> date:
    """Business day D of a run: the Europe/London date of its logical date (see the module docs)."""
    moment = logical_date or data_interval_start
    if moment is None:
        raise ValueError("the run has neither a logical date nor a data interval")
    local = pendulum.instance(moment).in_timezone(TIMEZONE)
    return date(local.year, local.month, local.day)


def _day() -> date:
    context = get_current_context()
    return business_day(context.get("logical_date"), context.get("data_interval_start"))


@contextmanager
def _pipeline() -> Iterator[Pipeline]:
    """The pipeline configured from the environment, its engine closed when the task ends.

    A configuration error fails the task at once: retrying cannot fix it.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.errors import ConfigError
    from pipelines.run import Pipeline

    try:
        pipeline = Pipeline.from_env()
        try:
            yield pipeline
        finally:
            pipeline.engine.dispose()
    except ConfigError as exc:
        raise AirflowFailException(f"configuration error: {exc}") from exc


@task
def list_sources() -> list[str]:
    """The configured source names, read at run time."""
    with _pipeline() as pipeline:
        return [source.name for source in pipeline.config.sources]


@task
def start_run() -> str:
    """Migrate the warehouse and record a new run for day D; returns its run id."""
    day = _day()
    with _pipeline() as pipeline:
        pipeline.init_db()
        run_id = pipeline.start_run(day)
    log.info("run %s for business day %s", run_id, day)
    return run_id


@task(map_index_template="{{ task.op_kwargs['source'] }}")
def load_source(source: str, cx_run_id: str) -> dict[str, Any]:
    """Extract, validate and load one source for day D; a failed source fails this task, unretried."""
    from airflow.sdk.exceptions import AirflowFailException

    day = _day()
    with _pipeline() as pipeline:
        (config,) = pipeline.config.select([source])
        result = pipeline.load_source(day, config, cx_run_id)
    log.info("%s %s: %s", source, day, result)
    if result.status == "failed":
        raise AirflowFailException(f"{source} {day}: {result.message}")
    return dataclasses.asdict(result)


@task(trigger_rule=TriggerRule.ALL_DONE)
def build_marts() -> int:
    """Rebuild the marts and KPIs for every date the loads touched; returns the kpi_daily rows."""
    with _pipeline() as pipeline:
        return pipeline.build_marts(_day())


@task
def publish() -> dict[str, Any]:
    """Render D's report and deliver it, unless this run should not email (see the `deliver` param)."""
    context = get_current_context()
    deliver = context["params"].get("deliver")
    if deliver is None:
        deliver = context["dag_run"].run_type != "backfill"
    with _pipeline() as pipeline:
        report, emails = pipeline.publish(_day(), deliver=deliver)
    return {"report": str(report), "emails": [str(p) for p in emails]}


@task(trigger_rule=TriggerRule.ALL_DONE)
def finish_run(cx_run_id: str | None, sources: list[str] | None) -> None:
    """Record the run's outcome from the states of its tasks; fail the DAG run if any task failed."""
    from airflow.sdk.exceptions import AirflowFailException

    context = get_current_context()
    ti, dag_run = context["ti"], context["dag_run"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
    names = {f"load_source_{i}": f"load_source[{name}]" for i, name in enumerate(sources or [])}
    failed = sorted(names.get(key, key) for key, state in states.items()
                    if key != ti.task_id and state in ("failed", "upstream_failed"))
    if cx_run_id is None:
        raise AirflowFailException(f"start_run did not record a run; failed tasks: {', '.join(failed)}")
    message = f"failed tasks: {', '.join(failed)}" if failed else ""
    with _pipeline() as pipeline:
        pipeline.finish_run(cx_run_id, "failed" if failed else "success", message)
    if failed:
        raise AirflowFailException(f"run {cx_run_id}: {message}")


@dag(
    dag_id="cx_nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=TIMEZONE),
    start_date=pendulum.datetime(2025, 1, 1, 2, tz=TIMEZONE),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=4),
    params={
        "deliver": Param(
            None, type=["null", "boolean"],
            description="Email the report. Default: yes, except for backfill runs.",
        ),
    },
    tags=["cx", "etl", "reporting"],
    doc_md=__doc__,
)
def cx_nightly() -> None:
    sources = list_sources()
    cx_run_id = start_run()
    loaded = load_source.partial(cx_run_id=cx_run_id).expand(source=sources)
    chain(loaded, build_marts(), publish(), finish_run(cx_run_id, sources))


cx_nightly()

"""
# CX nightly

Every night at 02:00 Europe/London (the `timezone` of `sources.yml`): reviews, social mentions and
survey exports for **business day D** (the previous day) → validated and loaded per source →
marts and KPIs → HTML report → email.

| task | does |
|---|---|
| `list_sources` | reads `sources.yml` at run time: adding a source needs no DAG change |
| `start_run` | migrates the warehouse and records the run in `ops.runs` |
| `load_source` | one mapped task per source: extract, validate, load; a failed source is recorded, then fails |
| `build_marts` | rebuilds the marts for the dates the loads touched, even if a source failed (assets `cx.marts.*`) |
| `publish` | renders D's report (naming any stale source) and delivers it and the subscriptions due on D |
| `finish_run` | records `success` or `failed` in `ops.runs`; fails the DAG run if any task failed |

**Which day.** The schedule is `pipelines.timetable.BusinessDayTimetable`: the data interval of
the run for D is D itself, local midnight to local midnight (23 or 25 hours on the days the clocks
change), and the run starts at 02:00 local time on D+1. `airflow dags test cx_nightly D` and a manual
run with logical date D process D; a manual run without a logical date processes yesterday.

**Backfill.** `airflow backfill create --dag-id cx_nightly --from-date D1 --to-date D2
--max-active-runs 1` runs every business day D1..D2 (the dates are read as calendar dates), one
day at a time: a backfill ignores the DAG's `max_active_runs`, and days share mart dates. Backfill
runs do not email unless the run conf says `{"deliver": true}`.

**Failures.** Tasks retry with exponential backoff, except for bad configuration, a source that
cannot be read or a failed critical data check, which fail at once. A task that fails for good is
logged and emailed to the ops address (`CX_OPS_EMAIL`, over the `smtp_default` connection) by
`pipelines.airflow_support.notify_failure`.

**Configuration** comes from the environment, exactly as for the `cx` CLI: `CX_HOME`,
`CX_CONFIG`, `CX_WAREHOUSE_URL`, `CX_LANDING_DIR`, `CX_SMTP_URL`, `CX_PII_KEY`.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, timedelta
from typing import Any

import pendulum
from airflow.sdk import Param, TriggerRule, chain, dag, get_current_context, task

from pipelines.airflow_support import MART_ASSETS, TIMEZONE, business_day, notify_failure, pipeline
from pipelines.timetable import BusinessDayTimetable

log = logging.getLogger(__name__)

DEFAULT_ARGS = {
    "owner": "cx-data",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": notify_failure,
}


def _day() -> date:
    context = get_current_context()
    return business_day(context.get("logical_date"), context.get("data_interval_start"))


@task
def list_sources() -> list[str]:
    """The configured source names, read at run time."""
    with pipeline() as cx:
        return [source.name for source in cx.config.sources]


@task
def start_run() -> str:
    """Migrate the warehouse and record a new run for day D; returns its run id."""
    day = _day()
    with pipeline() as cx:
        cx.init_db()
        run_id = cx.start_run(day)
    log.info("run %s for business day %s", run_id, day)
    return run_id


@task(map_index_template="{{ task.op_kwargs['source'] }}", execution_timeout=timedelta(minutes=30))
def load_source(source: str, cx_run_id: str) -> dict[str, Any]:
    """Extract, validate and load one source for day D; a failed source fails this task, unretried."""
    from airflow.sdk.exceptions import AirflowFailException

    day = _day()
    with pipeline() as cx:
        (config,) = cx.config.select([source])
        result = cx.load_source(day, config, cx_run_id)
    log.info("%s %s: %s", source, day, result)
    if result.status == "failed":
        raise AirflowFailException(f"{source} {day}: {result.message}")
    return dataclasses.asdict(result)


@task(trigger_rule=TriggerRule.ALL_DONE, outlets=MART_ASSETS, max_active_tis_per_dag=1)
def build_marts(cx_run_id: str) -> int:
    """Rebuild the marts and KPIs for every date the loads touched; returns the kpi_daily rows.

    One at a time across runs (backfills run days in parallel): two rebuilds of a shared date would clash.
    """
    with pipeline() as cx:
        return cx.build_marts(_day(), cx_run_id)


@task(execution_timeout=timedelta(minutes=30))
def publish() -> dict[str, Any]:
    """Render D's report and deliver it, unless this run should not email (see the `deliver` param)."""
    context = get_current_context()
    deliver = context["params"].get("deliver")
    if deliver is None:
        deliver = context["dag_run"].run_type != "backfill"
    with pipeline() as cx:
        report, emails = cx.publish(_day(), deliver=deliver)
    return {"report": str(report), "emails": [str(p) for p in emails]}


@task(trigger_rule=TriggerRule.ALL_DONE, execution_timeout=timedelta(minutes=5))
def finish_run(cx_run_id: str | None, sources: list[str] | None) -> None:
    """Record the run's outcome from the states of its tasks; fail the DAG run if any task failed."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.airflow_support import failed_tasks

    context = get_current_context()
    ti, dag_run = context["ti"], context["dag_run"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[dag_run.run_id]).get(dag_run.run_id, {})
    failed = failed_tasks(states, sources, ti.task_id)
    if cx_run_id is None:
        raise AirflowFailException(f"start_run did not record a run; failed tasks: {', '.join(failed)}")
    message = f"failed tasks: {', '.join(failed)}" if failed else ""
    with pipeline() as cx:
        cx.finish_run(cx_run_id, "failed" if failed else "success", message)
    if failed:
        raise AirflowFailException(f"run {cx_run_id}: {message}")


@dag(
    dag_id="cx_nightly",
    schedule=BusinessDayTimetable(TIMEZONE, hour=2),
    start_date=pendulum.datetime(2025, 1, 1, tz=TIMEZONE),
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
    chain(loaded, build_marts(cx_run_id), publish(), finish_run(cx_run_id, sources))


cx_nightly()

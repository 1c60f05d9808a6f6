"""What the cx_nightly DAG needs beyond wiring: the business day of a run, the pipeline, run outcome, alerts.

Imported by the DAG file at parse time, so its top level imports only the standard library,
pendulum and `airflow.sdk`; the pipeline itself (pandas, SQLAlchemy, GX) is imported inside.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import Asset

if TYPE_CHECKING:
    from pipelines.run import Pipeline

TIMEZONE = "Europe/London"  # must equal sources.yml `timezone` (checked by tests/dags)
log = logging.getLogger(__name__)

# The marts each successful build_marts run refreshes: downstream DAGs may schedule on them.
MART_ASSETS = [
    Asset(name=f"cx.marts.{table}", uri=f"cx-warehouse://marts/{table}", group="cx_marts")
    for table in ("fct_feedback", "fct_review", "fct_mention", "fct_survey_response", "kpi_daily")
]


def business_day(logical_date: datetime | None, data_interval_start: datetime | None) -> date:
    """Business day D of a run: the local date of its logical date, else of its data interval start.

    Scheduled and backfill runs start their data interval (= logical date) at local midnight on D;
    `airflow dags test cx_nightly D` and a manual run with a logical date D process D; a manual run
    without a logical date processes the interval Airflow inferred for it (the last complete day).
    """
    moment = logical_date or data_interval_start
    if moment is None:
        raise ValueError("the run has neither a logical date nor a data interval")
    local = pendulum.instance(moment).in_timezone(TIMEZONE)
    return date(local.year, local.month, local.day)


@contextmanager
def pipeline() -> Iterator[Pipeline]:
    """The pipeline configured from the environment, run without helper processes
    (`helpers.without_helpers`: tasks load sources in parallel), its engine closed when the task ends.

    A configuration error or a failed data check (RunError: nothing was committed) fails the task
    at once: retrying cannot fix either.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from pipelines.errors import ConfigError, RunError
    from pipelines.helpers import without_helpers
    from pipelines.run import Pipeline

    try:
        configured = Pipeline.from_env()
        try:
            with without_helpers():
                yield configured
        finally:
            configured.engine.dispose()
    except ConfigError as exc:
        raise AirflowFailException(f"configuration error: {exc}") from exc
    except RunError as exc:
        raise AirflowFailException(str(exc)) from exc


def failed_tasks(states: Mapping[str, str | None], sources: list[str] | None, own_task_id: str) -> list[str]:
    """Tasks of a run that failed, mapped source loads named by source (`load_source[x]`)."""
    names = {f"load_source_{i}": f"load_source[{name}]" for i, name in enumerate(sources or [])}
    return sorted(names.get(key, key) for key, state in states.items()
                  if key != own_task_id and state in ("failed", "upstream_failed"))


def failure_summary(context: Mapping[str, Any]) -> str:
    """One line naming the DAG, task (with its source), run, try and error of a failed task."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    if map_index is not None and map_index >= 0:
        task = f"{task}[{getattr(ti, 'rendered_map_index', None) or map_index}]"
    run_id = getattr(context.get("dag_run"), "run_id", context.get("run_id", "?"))
    error = context.get("exception")
    return (f"{dag_id}.{task} failed in run {run_id} (try {getattr(ti, 'try_number', '?')})"
            + (f": {type(error).__name__}: {error}" if error else ""))


def notify_failure(context: Mapping[str, Any]) -> None:
    """`on_failure_callback` of every cx_nightly task: log the failure, then email the ops address.

    The email is `pipelines.report.alerts.failure_notifier()` (SmtpNotifier over `smtp_default`),
    built here rather than in the DAG file so that parsing never imports the report stage. An
    alert that cannot be sent is logged: it must not hide the task's own error.
    """
    log.error("CX pipeline task failure: %s", failure_summary(context))
    from pipelines.report.alerts import failure_notifier

    try:
        failure_notifier()(context)
    except Exception as exc:  # noqa: BLE001 - any SMTP or connection problem
        log.warning("failure alert not sent: %s: %s", type(exc).__name__, exc)

"""Checks of the published marts, run inside the marts transaction right after a rebuild.

Only the rows the rebuild wrote are read (fct_feedback for the dirty dates, kpi_daily for the KPI
dates), so the cost follows the run, not the history. A critical failure raises RunError inside
the transaction: the rebuild rolls back and nothing is published.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa

from pipelines.config import NAME_RE
from pipelines.errors import RunError
from pipelines.validate import result_row
from pipelines.validate.gx import load_suite, run_suite
from pipelines.warehouse.db import in_list, read_frame

MART_SUITES = {"fct_feedback": "feedback_date", "kpi_daily": "kpi_date"}


def check_marts(conn: sa.Connection, dates: dict[str, Sequence[date]]) -> list[dict[str, Any]]:
    """Validate each mart's rows for its dates (`{"kpi_daily": [...], ...}`); returns the results.

    Raises RunError naming every failed critical expectation.
    """
    results: list[dict[str, Any]] = []
    failures: list[str] = []
    for mart, date_column in MART_SUITES.items():
        if not dates.get(mart):
            continue
        suite = load_suite(mart)
        columns = [c for c in suite.columns if NAME_RE.match(c)]
        stmt = in_list(f"select {', '.join(dict.fromkeys(columns))} from marts.{mart} "
                       f"where {date_column} in :dates", "dates")
        frame = read_frame(conn, stmt, {"dates": list(dates[mart])})
        for outcome in run_suite(suite, frame, {}):
            results.append({**result_row(suite.name, outcome), "source": mart})
            if outcome.check.severity == "critical" and (outcome.error or not outcome.success):
                detail = outcome.error or f"{outcome.unexpected_count:,} of {outcome.element_count:,} rows fail"
                failures.append(f"marts.{mart}: {outcome.check.column}: {outcome.check.type}: {detail}")
    if failures:
        raise RunError("critical mart check failed, nothing published: " + "; ".join(failures)
                       + " (expectations/<mart>.json)")
    return results

"""Checks of the published marts, run inside the marts transaction right after a rebuild.

Only the rows the rebuild wrote are read (the facts of the dirty dates, or of those the items
table lists when a date was built before and only its changed items were rewritten; kpi_daily for
the KPI dates), so the cost follows the run, not the history: a nightly build rewrites a new day
and the few late or edited items of some 15 dates before it, not those dates' other rows. A
critical failure raises RunError inside the transaction: the rebuild rolls back and nothing is
published. The rows are read on the transaction's connection; the GX suites then run on a thread of
their own (`start_checks`), so the build's next statements need not wait for them.

Besides the GX suites of `expectations/`, every reference of the rebuilt facts is looked up in its
dimension (`REFERENCES`). Neither dialect declares these as foreign keys (migration 012: DuckDB's
foreign-key indexes made every rebuild's commit grow with the history; 013: PostgreSQL's per-row
triggers were most of the facts' rebuild), so this check is what keeps a fact from pointing at nothing.
Nor does customer_identity (migration 021): identity resolution checks the identifiers it wrote
and hands the result in (`checked`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from pipelines.config import NAME_RE
from pipelines.errors import ConfigError, RunError
from pipelines.validate import result_row
from pipelines.validate.gx import Outcome, Suite, load_suite, run_suite
from pipelines.warehouse.db import in_list, read_frame

MART_SUITES = {"fct_feedback": "feedback_date", "kpi_daily": "kpi_date"}
_COMMON = {"source": ("dim_source", "source"), "feedback_date": ("dim_date", "date_day"),
           "customer_key": ("dim_customer", "customer_key")}
_PLACE = {"product": ("dim_product", "product"), "location": ("dim_location", "location")}
_JOURNEY = {"journey_stage": ("dim_journey_stage", "journey_stage"), "touchpoint": ("dim_touchpoint", "touchpoint")}
# fact -> {column: (dimension, its key)}: the foreign keys sql/migrations/003_star_schema.sql declared
REFERENCES: dict[str, dict[str, tuple[str, str]]] = {
    "fct_review": {**_COMMON, **_PLACE},
    "fct_mention": _COMMON,
    "fct_survey_response": {**_COMMON, **_PLACE, **_JOURNEY},
    "fct_feedback": {**_COMMON, **_PLACE, **_JOURNEY},
}


def check_marts(conn: sa.Connection, dates: dict[str, Sequence[date]],
                items: str | None = None, checked: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """Validate each mart's rows for its dates (`{"kpi_daily": [...], ...}`); returns the results.
    `items`: a table whose feedback_id column limits the facts' rows to those listed; `checked`:
    reference results the build computed itself (`reference_row`), counted like these.

    Raises RunError naming every failed critical expectation.
    """
    return start_checks(conn, dates, items, checked)()


def start_checks(conn: sa.Connection, dates: dict[str, Sequence[date]], items: str | None = None,
                 checked: Sequence[dict[str, Any]] = ()) -> Callable[[], list[dict[str, Any]]]:
    """`check_marts` in two steps: the references are counted and the rows read now, on `conn`; the
    GX suites run on a thread of their own, so the caller's next statements run meanwhile. The call
    returned waits for them and returns the results, or raises RunError."""
    only = _listed(items)
    results = [*checked, *(reference_results(conn, dates["fct_feedback"], items) if dates.get("fct_feedback") else [])]
    frames = []
    for mart, date_column in MART_SUITES.items():
        if dates.get(mart):
            suite = load_suite(mart)
            columns = [c for c in suite.columns if NAME_RE.match(c)]
            stmt = in_list(f"select {', '.join(dict.fromkeys(columns))} from marts.{mart} "
                           f"where {date_column} in :dates{only if mart == 'fct_feedback' else ''}", "dates")
            frames.append((mart, suite, read_frame(conn, stmt, {"dates": list(dates[mart])})))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mart-checks")
    suites = pool.submit(_run_suites, frames)
    pool.shutdown(wait=False)
    del frames  # the thread's alone now: freed once the suites have run

    def verdict() -> list[dict[str, Any]]:
        failures = [f"marts.{r['source']}: {r['column']}: {r['expectation']}: {r['unexpected_count']:,} of "
                    f"{r['element_count']:,} rows fail" for r in results if not r["success"]]
        for mart, suite, outcomes in suites.result():
            for outcome in outcomes:
                results.append({**result_row(suite.name, outcome), "source": mart})
                if outcome.check.severity == "critical" and (outcome.error or not outcome.success):
                    detail = outcome.error or f"{outcome.unexpected_count:,} of {outcome.element_count:,} rows fail"
                    failures.append(f"marts.{mart}: {outcome.check.column}: {outcome.check.type}: {detail}")
        if failures:
            raise RunError("critical mart check failed, nothing published: " + "; ".join(failures) + " (suites: "
                           "expectations/<mart>.json; references: REFERENCES in pipelines/quality/marts.py)")
        return results

    return verdict


def _run_suites(frames: list[tuple[str, Suite, pd.DataFrame]]) -> list[tuple[str, Suite, list[Outcome]]]:
    """Each mart's suite on its rows, in order."""
    return [(mart, suite, run_suite(suite, frame, {})) for mart, suite, frame in frames]


def reference_results(conn: sa.Connection, dates: Sequence[date], items: str | None = None) -> list[dict[str, Any]]:
    """One critical result per fact and reference column: the rows of `dates` (of them, those the
    `items` table lists) whose non-null value has no row in the dimension (one query per fact,
    each dimension joined once)."""
    only = _listed(items, "f.")
    results = []
    for fact, refs in REFERENCES.items():
        joins = " ".join(f"left join marts.{dim} as d{i} on d{i}.{key} = f.{col}"
                         for i, (col, (dim, key)) in enumerate(refs.items()))
        dangling = ", ".join(f"coalesce(sum(case when f.{col} is not null and d{i}.{key} is null then 1 else 0 end), 0)"
                             for i, (col, (_, key)) in enumerate(refs.items()))
        counts = conn.execute(in_list(f"select count(*), {dangling} from marts.{fact} as f {joins} "
                                      f"where f.feedback_date in :dates{only}", "dates"), {"dates": list(dates)}).one()
        results += [reference_row(fact, col, ref, bad, counts[0])
                    for (col, ref), bad in zip(refs.items(), counts[1:], strict=True)]
    return results


def reference_row(table: str, column: str, reference: tuple[str, str], bad: int, total: int) -> dict[str, Any]:
    """The critical result of a reference check: `bad` of the `total` rows of marts.`table` checked
    name a `column` value with no row in `reference` (dimension, its key)."""
    dim, key = reference
    return {"suite": "references", "source": table, "expectation": f"references {dim}.{key}", "column": column,
            "severity": "critical", "success": bad == 0, "unexpected_count": int(bad), "element_count": int(total)}


def _listed(items: str | None, alias: str = "") -> str:
    """The condition keeping the rows whose feedback_id the `items` table lists ('' for every row)."""
    if items is None:
        return ""
    if not NAME_RE.match(items):
        raise ConfigError(f"not an allowed identifier: {items!r}")
    return f" and {alias}feedback_id in (select feedback_id from {items})"

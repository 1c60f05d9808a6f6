"""Great Expectations plumbing: the suites in expectations/, one context, one batch definition.

Suites: `<family>.json` (row level, one canonical batch), `<family>_table.json` (table level, the
profile of one source's day) and `<mart>.json` (the rows a run rebuilt in a published mart).
Creating a GX context, data source and batch definition costs more than validating a batch, and a
backfill validates thousands of batches, so they are built once per process and reused; each suite
is read from `expectations/<name>.json` once, and GX's kwarg lookups are replaced by cheaper
equivalents (`gx_speed`). GX's usage statistics, progress bars and INFO logs are switched off: the
pipeline reports its own progress. GX is imported on first use so that importing the pipeline (the
CLI, the DAG) stays fast.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.config import EXPECTATIONS_DIR

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

SEVERITIES = ("critical", "warning")

# GX logs its own plumbing at INFO (docs registration, temp dirs); keep its WARNINGs and above.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, as written in its JSON file."""

    type: str
    column: str | None
    kwargs: dict[str, Any]
    severity: str


@dataclass(frozen=True)
class Suite:
    """An expectation suite: its checks in file order and the columns they read."""

    name: str
    checks: tuple[Check, ...]
    columns: tuple[str, ...]
    expectations: ExpectationSuite


@dataclass(frozen=True)
class Outcome:
    """What GX found for one check on one batch; `unexpected_index` holds the frame positions of
    the failing rows of a failed critical check (empty for any other check)."""

    check: Check
    success: bool
    element_count: int
    unexpected_count: int
    unexpected_index: list[int]
    error: str | None


def suite_names() -> list[str]:
    """The names of every suite in expectations/, sorted."""
    return sorted(p.stem for p in EXPECTATIONS_DIR.glob("*.json"))


@cache
def load_suite(name: str) -> Suite:
    """The suite `expectations/<name>.json`, read once per process."""
    from great_expectations.core import ExpectationSuite

    import pipelines.validate.custom  # noqa: F401 - registers the custom expectations the suites use

    if name not in suite_names():
        raise ValueError(f"unknown suite {name!r}; expected one of {', '.join(suite_names())}")
    path = EXPECTATIONS_DIR / f"{name}.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    checks: list[Check] = []
    columns: dict[str, None] = {}
    for entry in doc["expectations"]:
        severity = entry.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise ValueError(f"{path}: {entry['type']}: meta.severity must be one of {SEVERITIES}")
        kwargs = entry["kwargs"]
        checks.append(Check(entry["type"], _label(kwargs), kwargs, severity))
        columns.update(dict.fromkeys(_columns_read(kwargs)))
    suite = ExpectationSuite(**doc)
    # ExpectationSuite logs and drops an invalid expectation instead of raising.
    if len(suite.expectations) != len(checks):
        raise ValueError(f"{path}: GX rejected {len(checks) - len(suite.expectations)} expectation(s)")
    # GX returns results grouped by column; the id maps each result back to its check.
    for position, expectation in enumerate(suite.expectations):
        expectation.id = str(position)
    return Suite(doc["name"], tuple(checks), tuple(columns), suite)


def run_suite(suite: Suite, frame: pd.DataFrame, parameters: dict[str, Any]) -> list[Outcome]:
    """Validate `frame` (a RangeIndex) against `suite` on one GX batch, outcomes in suite order.

    GX's own validator runs the suite on the batch definition directly: `Batch.validate` would
    first build a batch of its own and then the validator a second one, and each fingerprints
    (hashes) the whole frame, a fifth of the cost of validating it. The suite runs with BASIC
    results (verdicts and counts); a failed critical check, whose rows go to quarantine, then runs
    again on the same batch with COMPLETE for their positions. COMPLETE for every check would cost
    a sixth (50,000 rows) to a third (10,000) more: GX prices each extra metric per check.
    """
    from great_expectations.validator.v1_validator import Validator

    validator = Validator(_batch_definition(), "BASIC", batch_parameters={"dataframe": frame})
    report = validator.validate_expectation_suite(suite.expectations, parameters)
    results = {int(r.expectation_config.id): r for r in report.results}
    quarantining = [position for position, r in results.items()
                    if suite.checks[position].severity == "critical" and not r.success and not _error(r.exception_info)]
    # unexpected_index_query would repeat the positions as a pandas expression, filtering once more
    validator.result_format = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
    for position in quarantining:
        results[position] = validator.validate_expectation(suite.expectations.expectations[position], parameters)
    return [_outcome(suite.checks[position], results[position]) for position in range(len(suite.checks))]


def _outcome(check: Check, result: ExpectationValidationResult) -> Outcome:
    """One check's GX result as an Outcome."""
    stats = result.result
    return Outcome(
        check=check,
        success=bool(result.success),
        element_count=int(stats.get("element_count", 0)),
        unexpected_count=int(stats.get("unexpected_count", 0)),
        unexpected_index=list(stats.get("unexpected_index_list") or []),
        error=_error(result.exception_info),
    )


@cache
def _batch_definition() -> BatchDefinition:
    """The in-memory context and its whole-dataframe batch definition, built once per process."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from pipelines.validate import gx_speed

    gx_speed.apply()
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            store_backend_defaults=InMemoryStoreBackendDefaults(),
        ),
    )
    asset = context.data_sources.add_pandas("cx_pipeline").add_dataframe_asset("batch")
    return asset.add_batch_definition_whole_dataframe("whole_batch")


def _label(kwargs: dict[str, Any]) -> str | None:
    """The column an expectation is about, as results and reasons name it (`a,b` for several)."""
    if "column" in kwargs:
        return kwargs["column"]
    names = kwargs.get("column_list") or [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
    return ",".join(names) or None


def _columns_read(kwargs: dict[str, Any]) -> list[str]:
    """The columns an expectation reads: its column(s) and any named in its row condition."""
    found = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    found += kwargs.get("column_list", [])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("column"), dict):
                found.append(node["column"]["name"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(kwargs.get("row_condition"))
    return found


def _error(info: dict[str, Any] | None) -> str | None:
    """The message of an exception GX caught while running a check, or None.

    GX reports either one `{raised_exception, exception_message}` record or, when a metric
    failed, a mapping of metric id to such records.
    """
    if not info:
        return None
    records = [info] if "exception_message" in info else list(info.values())
    messages = [r.get("exception_message") for r in records if r.get("exception_message")]
    return "; ".join(dict.fromkeys(messages)) or None

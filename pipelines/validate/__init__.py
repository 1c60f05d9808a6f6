"""The validation stage: a canonical batch against its family's GX suite, bad rows to quarantine.

Every row ends up in exactly one of `good` or `quarantined` (ARCHITECTURE.md, "nothing lost").
GX decides pass or fail: each suite runs once per batch, and rows are routed by the
`unexpected_index_list` of the failed critical expectations (`run_suite`). Warning-level failures
are only recorded in `results`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import SourceError
from pipelines.validate.gx import Check, Outcome, load_suite, run_suite

QUARANTINE_COLUMNS = ("_file", "_line", "_raw")
OPTIONAL_LINEAGE = ("_item",)  # the record's position on its line, when the loader numbered them
DEFAULT_TOLERANCE = pd.Timedelta(hours=1)


@dataclass
class Validation:
    """The outcome of validating one batch."""

    good: pd.DataFrame
    quarantined: pd.DataFrame
    results: list[dict[str, Any]]


def validate_batch(
    df: pd.DataFrame,
    family: str,
    source: str,
    day_end_utc: pd.Timestamp,
    tolerance: pd.Timedelta = DEFAULT_TOLERANCE,
) -> Validation:
    """Validate a canonical batch (`base.conform` output) and split it into good and quarantined.

    Timestamps later than `day_end_utc + tolerance` are quarantined: an item from the future is
    a clock or parsing error, not late data. A row failing several critical expectations is
    quarantined once, with every reason (and the expectations and columns behind them) joined by
    "; ". Raises SourceError when `df` lacks a column the suite or the quarantine needs, or when GX
    cannot run an expectation.
    """
    suite = load_suite(family)
    missing = [c for c in (*suite.columns, *QUARANTINE_COLUMNS) if c not in df.columns]
    if missing:
        raise SourceError(
            f"{source}: {family} batch has no column {', '.join(missing)} (required by expectations/{family}.json)"
        )
    max_time = pd.Timestamp(day_end_utc)
    max_time = (max_time.tz_localize("UTC") if max_time.tzinfo is None else max_time) + tolerance
    parameters = {"max_time": max_time}

    outcomes = run_suite(suite, _gx_frame(df, suite.columns), parameters)
    broken = [o for o in outcomes if o.error]
    if broken:
        o = broken[0]
        raise SourceError(f"{source}: {suite.name}: {o.check.type} on {o.check.column} failed: {o.error}")

    bad = np.zeros(len(df), dtype=bool)
    found = {name: np.full(len(df), "", dtype=object) for name in ("reason", "expectation", "column")}
    for o in outcomes:
        if o.check.severity != "critical" or o.success or not o.unexpected_index:
            continue
        rows = np.asarray(o.unexpected_index, dtype=np.intp)
        columns = _culprits(df, rows, o.check)
        reason = np.char.add(columns.astype(str), f": {_reason(o.check, parameters)}").astype(object)
        for name, text in (("reason", reason), ("expectation", o.check.type), ("column", columns)):
            found[name][rows] = np.where(bad[rows], found[name][rows] + "; " + text, text)
        bad[rows] = True

    lineage = [*QUARANTINE_COLUMNS, *(c for c in OPTIONAL_LINEAGE if c in df.columns)]
    quarantined = df.loc[bad, lineage].reset_index(drop=True)
    for name, values in found.items():
        quarantined[name] = pd.array(values[bad], dtype="string")
    return Validation(
        good=df.loc[~bad].reset_index(drop=True),
        quarantined=quarantined,
        results=[result_row(suite.name, o) for o in outcomes],
    )


def _gx_frame(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The columns GX reads, indexed by position, nullable numbers as float64 with NaN.

    Passing only the checked columns keeps GX's batch fingerprinting cheap (it hashes the whole
    frame). GX 1.24's between check is vectorized for numpy numbers but makes one Python call per
    value of pandas' nullable `Float64`; NaN is null to GX too, so the verdicts are the same.
    """
    frame = df.loc[:, list(columns)].reset_index(drop=True)
    for col in frame.columns:
        dtype = frame[col].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype):
            frame[col] = frame[col].to_numpy(dtype="float64", na_value=np.nan)
    return frame


def _culprits(df: pd.DataFrame, rows: np.ndarray, check: Check) -> np.ndarray:
    """The column each failing row is quarantined for; for a check of several columns, the ones
    whose value matched (looked up for the failing rows only, so it costs nothing on clean data)."""
    names = check.kwargs.get("column_list")
    if not names or "regex" not in check.kwargs:
        return np.full(len(rows), check.column or "", dtype=object)
    part = df.iloc[rows]
    hits = [part[c].astype("string").str.contains(check.kwargs["regex"], regex=True, na=False).to_numpy(dtype=bool)
            for c in names]
    return np.array([",".join(c for c, h in zip(names, row, strict=True) if h) for row in zip(*hits, strict=True)],
                    dtype=object)


def _reason(check: Check, parameters: dict[str, Any]) -> str:
    """The expectation, plus the bounds for a between check, e.g. `..._between [0, 10]`; the
    caller puts the column in front."""
    text = check.type
    if "min_value" in check.kwargs or "max_value" in check.kwargs:
        low, high = (_value(check.kwargs.get(k), parameters) for k in ("min_value", "max_value"))
        text += f" [{low}, {high}]"
    return text


def _value(value: Any, parameters: dict[str, Any]) -> Any:
    """A kwarg as the check used it: a {"$PARAMETER": name} reference resolved, times in ISO."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        value = parameters[value["$PARAMETER"]]
    return value.isoformat() if isinstance(value, pd.Timestamp) else value


def result_row(suite: str, o: Outcome) -> dict[str, Any]:
    """One check's outcome as a row of ops.validation_results (without the run columns)."""
    return {
        "suite": suite,
        "expectation": o.check.type,
        "column": o.check.column,
        "severity": o.check.severity,
        "success": o.success,
        "unexpected_count": o.unexpected_count,
        "element_count": o.element_count,
    }


def validation_rows(results: list[dict[str, Any]], run_id: str, source: str, day: date) -> pd.DataFrame:
    """ops.validation_results rows; a result may name its own `source` (a mart's name)."""
    return pd.DataFrame(
        [{"run_id": run_id, "source": r.get("source", source), "business_date": day, "suite": r["suite"],
          "expectation": r["expectation"], "column_name": r["column"], "severity": r["severity"],
          "success": r["success"], "unexpected_count": r["unexpected_count"], "element_count": r["element_count"]}
         for r in results]
    )

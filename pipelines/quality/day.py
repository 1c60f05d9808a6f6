"""Table-level checks of one source's delivery for one business day, and its validation results.

The row-level suite sees one batch at a time; volume, null shares and freshness only make sense
for the whole day, so `SourceDay` accumulates a profile while the batches stream past and runs the
`<family>_table` suite on it once at the end. The volume bounds come from the trailing median of
the source's daily `rows_in` in `ops.row_accounting`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.config import QualityConfig
from pipelines.errors import SourceError
from pipelines.sources.base import ID_COLUMN, TIME_COLUMN
from pipelines.validate import Validation, result_row
from pipelines.validate.gx import Outcome, load_suite, run_suite


def trailing_volumes(conn: sa.Connection, source: str, day: date, days: int) -> list[int]:
    """The source's rows_in per business day in the `days` before `day` (the largest run of each day)."""
    rows = conn.execute(sa.text(
        "select business_date, max(rows_in) from ops.row_accounting where source = :source "
        "and business_date < :day and business_date >= :since group by business_date"),
        {"source": source, "day": day, "since": day - timedelta(days=days)}).all()
    return [int(n) for _, n in rows]


def volume_parameters(history: list[int], cfg: QualityConfig) -> dict[str, float | None]:
    """The row-count bounds of the table suite: none without enough history, else from the median."""
    if len(history) < cfg.volume_min_history_days:
        return {"min_rows_critical": 0, "min_rows": 0, "max_rows": None, "median_rows": None}
    mid = float(median(history))
    return {
        "min_rows_critical": 1 if mid >= cfg.volume_floor_rows else 0,
        "min_rows": mid * cfg.volume_drop_ratio,
        "max_rows": mid * cfg.volume_spike_ratio,
        "median_rows": mid,
    }


def missing_delivery(history: list[int], cfg: QualityConfig) -> str | None:
    """Why a day without any file is a failure (history says the source delivers), or None."""
    bounds = volume_parameters(history, cfg)
    if bounds["min_rows_critical"]:
        return f"no rows for the day, but the trailing median is {bounds['median_rows']:,.0f} rows a day"
    return None


@dataclass
class SourceDay:
    """The profile and validation results of one source's day, built batch by batch."""

    family: str
    source: str
    day_end_utc: pd.Timestamp
    cfg: QualityConfig
    history: list[int]
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)
    newest: pd.Timestamp | None = None
    _row_results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tolerance(self) -> pd.Timedelta:
        return pd.Timedelta(minutes=self.cfg.future_tolerance_minutes)

    def add(self, batch: pd.DataFrame, validation: Validation) -> None:
        """Fold one batch (all its rows) and its row-level results into the day."""
        self.rows += len(batch)
        for col, n in batch.isna().sum().items():
            self.nulls[col] = self.nulls.get(col, 0) + int(n)
        times = validation.good[TIME_COLUMN[self.family]]
        if times.notna().any():
            latest = times.max()
            self.newest = latest if self.newest is None else max(self.newest, latest)
        if not self._row_results:
            self._row_results = [{**r, "unexpected_count": 0, "element_count": 0} for r in validation.results]
        for total, r in zip(self._row_results, validation.results, strict=True):
            total["success"] = bool(total["success"] and r["success"])
            total["unexpected_count"] += int(r["unexpected_count"] or 0)
            total["element_count"] += int(r["element_count"] or 0)

    def finish(self) -> list[dict[str, Any]]:
        """Run the table suite; returns every result of the day (row- and table-level).

        Raises SourceError when a critical table-level expectation fails: a required column
        missing entirely, or no rows where the trailing median says the source delivers.
        """
        suite = load_suite(f"{self.family}_table")
        params = self.parameters()
        outcomes = run_suite(suite, self.profile(), params)
        failed = [o for o in outcomes if o.check.severity == "critical" and (o.error or not o.success)]
        if failed:
            raise SourceError("; ".join(self._message(o, params) for o in failed))
        # the profile is one row: a failed check has one unexpected row of one
        table = [{**result_row(suite.name, o), "element_count": 1, "unexpected_count": int(not o.success)}
                 for o in outcomes]
        return self._row_results + table

    def parameters(self) -> dict[str, Any]:
        """The run parameters of the table suite: the volume bounds and the staleness limit."""
        return {**volume_parameters(self.history, self.cfg), "max_staleness_hours": self.cfg.max_staleness_hours}

    def profile(self) -> pd.DataFrame:
        """One row: row_count, null_share_<column> for the columns the suite reads (0 without rows:
        no row lacks a value), freshness_hours (NaN, which fails its check, without a usable time)."""
        row: dict[str, float | None] = {"row_count": float(self.rows)}
        for col in load_suite(f"{self.family}_table").columns:
            if col.startswith("null_share_"):
                name = col.removeprefix("null_share_")
                row[col] = self.nulls.get(name, 0) / self.rows if self.rows else 0.0
        row["freshness_hours"] = (
            (self.day_end_utc - self.newest) / pd.Timedelta(hours=1) if self.newest is not None else np.nan
        )
        return pd.DataFrame([row], dtype="float64")

    def _message(self, o: Outcome, params: dict[str, Any]) -> str:
        where = f"expectations/{self.family}_table.json"
        if o.error:
            return f"{self.source}: {o.check.type} on {o.check.column} could not run: {o.error} ({where})"
        if o.check.column == "row_count":
            return (f"{self.source}: {self.rows:,} rows for the day, but the trailing median is "
                    f"{params['median_rows']:,.0f} rows a day ({where})")
        column = str(o.check.column).removeprefix("null_share_")
        required = " (the id)" if column == ID_COLUMN[self.family] else ""
        return (f"{self.source}: required column {column}{required} is missing entirely: none of {self.rows:,} "
                f"rows has a value; check the export format and the source's fields mapping ({where})")


"""Backfill: many days loaded chunk by chunk, the marts and KPIs built once per chunk.

Each day's sources load exactly as in a nightly run (one transaction per source and day), so a
backfilled day is indistinguishable from a nightly one. What a nightly run does per day and a
backfill does per chunk is the expensive part: rebuilding the marts and KPIs for the dirty dates.
A chunk ends once its days have read `chunk_rows` rows (or after `chunk_days` days, when given):
the number of mart builds follows the rows loaded. A build writes the chunk's new dates whole and,
on the earlier dates late items and edits make dirty (in the sample data, up to 14 days back),
only the changed items; but its day statistics read those dates whole, and its KPIs up to 28 days
before them: so a build also reads the rows of about six weeks before its chunk. Where a day
brings far fewer rows than `chunk_rows` that is small beside the chunk; where it brings a mid-size
brand's 44,000 it is not (benchmarks/HISTORY.md, Backfill).

Resumable: a day is marked successful only once its chunk's marts are built; days already
successful are skipped unless forced; a forced day rereads its files (the file ledger replaces
their rows rather than skipping them). An interrupted backfill keeps every committed load and its
dirty dates, so the next one reloads at most one chunk and rebuilds whatever is pending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from time import perf_counter
from typing import TYPE_CHECKING

import sqlalchemy as sa

from pipelines.faults import pause_point

if TYPE_CHECKING:
    from pipelines.run import BackfillResult, Pipeline, SourceResult

# Rows read before the marts are built: below a large day (~490,000), ten days of a mid-size brand.
# Since builds rewrite only the items that changed, fewer of them cost less than they hold: its
# 30-day backfill (benchmarks/backfill.py) took 295.8 s at 200,000 and 260.2 s at 450,000; a probe's
# peak RSS 1.9 -> 2.2 GB (benchmarks/HISTORY.md, fourteenth round).
DEFAULT_CHUNK_ROWS = 450_000


@dataclass(frozen=True)
class BackfillProgress:
    """Where a backfill stands, after each day loaded and each chunk built."""

    days_done: int
    days_total: int
    rows_in: int
    seconds: float
    stage: str  # "loaded <day>" | "marts <first>..<last>"

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Time left at the pace so far; unknown before the first day is done."""
        if not self.days_done:
            return None
        return self.seconds / self.days_done * (self.days_total - self.days_done)

    def __str__(self) -> str:
        eta = "?" if self.eta_seconds is None else f"{self.eta_seconds:,.0f}s"
        return (f"{self.days_done}/{self.days_total} days, {self.rows_in:,} rows, "
                f"{self.rows_per_second:,.0f} rows/s, ETA {eta} — {self.stage}")


BackfillCallback = Callable[[BackfillProgress], None]


def days_to_run(pipeline: Pipeline, start: date, end: date, force: bool) -> tuple[list[date], int]:
    """The days of start..end still to run (all when forced) and how many are skipped."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if force:
        return days, 0
    with pipeline.engine.connect() as conn:
        done = set(conn.execute(sa.text(
            "select distinct business_date from ops.runs where status = 'success' "
            "and business_date between :start and :end"), {"start": start, "end": end}).scalars())
    todo = [d for d in days if d not in done]
    return todo, len(days) - len(todo)


def run_backfill(
    pipeline: Pipeline, start: date, end: date, result: BackfillResult, *, force: bool = False,
    deliver: bool = False, chunk_days: int | None = None, chunk_rows: int | None = None,
    progress: BackfillCallback | None = None,
) -> BackfillResult:
    """Load start..end chunk by chunk, building the marts once per chunk (see the module docstring);
    `chunk_rows` defaults to DEFAULT_CHUNK_ROWS, `chunk_days` to no limit."""
    chunk_rows = chunk_rows or DEFAULT_CHUNK_ROWS
    todo, result.days_skipped = days_to_run(pipeline, start, end, force)
    clock = perf_counter()

    def note(stage: str) -> None:
        if progress is not None:
            progress(BackfillProgress(result.days_run, len(todo), result.rows_in, perf_counter() - clock, stage))

    chunk: dict[date, tuple[str, list[SourceResult]]] = {}
    chunk_in = 0
    for day in todo:
        run_id = pipeline.start_run(day)
        try:
            loaded = pipeline._load_all(day, pipeline.config.sources, run_id, None, reread=force)
        except Exception as exc:
            pipeline.finish_run(run_id, "failed", str(exc))
            raise
        pipeline.finish_run(run_id, "loaded")
        chunk[day] = (run_id, loaded)
        rows = sum(s.rows_in for s in loaded)
        chunk_in += rows
        result.rows_in += rows
        result.days_run += 1
        note(f"loaded {day}")
        if day == todo[-1] or chunk_in >= chunk_rows or (chunk_days and len(chunk) >= chunk_days):
            _build_chunk(pipeline, chunk, result, deliver)
            note(f"marts {min(chunk)}..{max(chunk)}")
            pause_point("backfill-chunk", pipeline.settings.home)  # crash tests stop here, between chunks
            chunk, chunk_in = {}, 0
    result.report, _ = pipeline.publish(end, deliver=False)
    result.seconds = perf_counter() - clock
    return result


def _build_chunk(pipeline: Pipeline, chunk: dict[date, tuple[str, list[SourceResult]]], result: BackfillResult,
                 deliver: bool) -> None:
    """Build the marts for the chunk's loads, then mark its days succeeded (or failed, naming the sources)."""
    pipeline.build_marts(max(chunk))
    for day, (run_id, loaded) in chunk.items():
        failed = [s for s in loaded if s.status == "failed"]
        if failed:
            result.failed_days.append(day)
        pipeline.finish_run(run_id, "failed" if failed else "success",
                            "; ".join(f"{s.source}: {s.message}" for s in failed))
        if deliver:
            pipeline.publish(day, deliver=True)

"""The stage sequence of a business day, called alike by the `cx` CLI and the Airflow DAG.

extract → validate → load (one transaction per source and day) → marts and KPIs for the dates
the new rows touch (one transaction) → report → delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.config import PipelineConfig, Settings, SourceConfig, load_config
from pipelines.enrich.sentiment import SentimentModel, get_model
from pipelines.enrich.stage import STAGING_TABLE, to_staging
from pipelines.errors import SourceError
from pipelines.faults import pause_point
from pipelines.helpers import stop_helpers
from pipelines.kpis.daily import computed_since, update_kpis
from pipelines.kpis.themes import DEFAULT_TAXONOMY, Taxonomy, load_taxonomy
from pipelines.memory import configure_allocators, release_freed
from pipelines.quality.accounting import Tally
from pipelines.quality.quarantine import storable_text
from pipelines.sources import ledger
from pipelines.sources.api import pull, window_for
from pipelines.sources.api.cursors import read_cursor, save_cursor
from pipelines.sources.base import ID_COLUMN, TIME_COLUMN, Drift
from pipelines.sources.reader import drop_ahead, parse_ahead, read_ahead
from pipelines.warehouse.backfill import BackfillCallback, run_backfill
from pipelines.warehouse.db import (
    ensure_raw_table,
    frame_as_table,
    in_list,
    insert_frame,
    make_engine,
    marts_transaction,
    migrate,
    release_cache,
    sql_text,
    statements,
)
from pipelines.warehouse.star import build_star, clear_dirty_dates, sync_sources

Progress = Callable[[str], None]


@dataclass
class SourceResult:
    """What happened to one source on one day; rows_in = loaded + quarantined + duplicate."""

    source: str
    status: str  # success | no_data | failed
    files: int = 0
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    message: str = ""


@dataclass
class RunSummary:
    """The outcome of `run_day`."""

    run_id: str
    day: date
    sources: list[SourceResult] = field(default_factory=list)
    kpi_rows: int = 0
    report: Path | None = None
    outbox: list = field(default_factory=list)  # report.Delivery per recipient

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status == "failed"]


@dataclass
class BackfillResult:
    """The outcome of `backfill`."""

    days_run: int = 0
    days_skipped: int = 0
    rows_in: int = 0
    seconds: float = 0.0
    failed_days: list[date] = field(default_factory=list)
    report: Path | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds else 0.0


@dataclass
class SourceStatus:
    """One row of `cx status`."""

    source: str
    last_success: date | None
    days_stale: int | None
    last_status: str | None
    quarantined: int


@dataclass
class StatusReport:
    sources: list[SourceStatus]
    failures: list[str]


@dataclass
class Extract:
    """What one source delivers for a day: the names its rows carry in `_file` (files or API page
    URLs; a reload replaces rows of the same names), its canonical batches, and for an incremental
    API source the cursor to store once the batches are committed."""

    names: list[str]
    batches: Iterable[pd.DataFrame]
    cursor_at: datetime | None = None
    files: list[Path] = field(default_factory=list)  # landing files: read one by one behind the file ledger



class Pipeline:
    """One configured pipeline: settings, sources.yml and the warehouse engine."""

    def __init__(self, settings: Settings, config: PipelineConfig, engine: sa.Engine | None = None) -> None:
        configure_allocators()  # once per process: freed memory goes back to the system
        self.settings = settings
        self.config = config
        self.engine = engine or make_engine(settings.warehouse_url)

    @classmethod
    def from_env(cls, config_path: str | Path | None = None) -> Pipeline:
        """Settings from the environment, sources.yml from `config_path` or CX_CONFIG."""
        settings = Settings.from_env(config_path)
        return cls(settings, load_config(settings.config_path))

    @cached_property
    def sentiment(self) -> SentimentModel:
        """The sentiment model: CX_SENTIMENT_MODEL, else sources.yml `sentiment.model`."""
        return get_model(self.settings.sentiment_model or self.config.sentiment_model)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        """The theme taxonomy, config/themes.yml."""
        return load_taxonomy(DEFAULT_TAXONOMY)

    def init_db(self) -> list[int]:
        """Create or migrate the warehouse schemas; returns the migration versions applied."""
        return migrate(self.engine)

    # -- extract, validate, load -------------------------------------------------------------

    def day_end_utc(self, day: date) -> pd.Timestamp:
        """The first instant after business day `day`, in UTC."""
        local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.config.timezone)
        return pd.Timestamp(local).tz_convert("UTC")

    def load_source(self, day: date, source: SourceConfig, run_id: str, reread: bool = False) -> SourceResult:
        """Extract, validate and load one source's files or API pages for `day` in a single transaction.

        A SourceError (unreadable file, missing required column, a critical table-level check, an
        API pull that failed or ran out of budget) rolls the source back and is recorded as a failed
        source; the other sources are unaffected. An API source's cursor moves in the same
        transaction as its rows. `reread` (a forced backfill) reloads files the ledger would skip.
        """
        try:
            return self._load_source(day, source, run_id, reread)
        finally:  # a file the helper started ahead (`_load_all`) and the load did not read: skipped, or failed first
            drop_ahead(source.name)

    def _landing_files(self, day: date, source: SourceConfig) -> list[Path]:
        return [] if source.url else source.files(self.settings.landing_dir, day)

    def _parse_ahead(self, day: date, source: SourceConfig) -> None:
        """Have the helper parse `source`'s first file for `day` before its load reads it (`reader.parse_ahead`)."""
        parse_ahead(source.format, self._landing_files(day, source), source, self.config.timezone)

    def _load_source(self, day: date, source: SourceConfig, run_id: str, reread: bool) -> SourceResult:
        from pipelines.quality.day import missing_delivery, trailing_volumes
        from pipelines.validate.gx import load_suite

        # read first: the run's first suite imports GX (about 2 s) while the helper parses the first file
        load_suite(source.family)
        try:
            extract = self._extract(day, source)
        except SourceError as exc:
            result = SourceResult(source.name, "failed", message=str(exc))
            self._record_source(day, run_id, result)
            return result
        if not extract.names:
            with self.engine.connect() as conn:
                history = trailing_volumes(conn, source.name, day, self.config.quality.volume_history_days)
            problem = missing_delivery(history, self.config.quality)
            status = "failed" if problem else "no_data"
            result = SourceResult(source.name, status, message=f"no files match {source.path}"
                                  + (f"; {problem}" if problem else ""))
            self._record_source(day, run_id, result)
            return result
        drift: dict[Path, list[Drift]] = {}
        try:  # rows, cursor, drift and the source's run record commit together: one commit a source-day
            with self.engine.begin() as conn:
                result = self._load_files(conn, day, source, run_id, extract, drift, reread)
                if extract.cursor_at is not None:
                    save_cursor(conn, source.name, extract.cursor_at, run_id)
                ledger.record_drift(conn, run_id, source.name, day, drift)
                self._write_source_run(conn, day, run_id, result)
            return result
        except SourceError as exc:
            result = SourceResult(source.name, "failed", files=len(extract.names), message=str(exc))
        if drift:  # logged even when the source failed: the drift is often why
            with self.engine.begin() as conn:
                ledger.record_drift(conn, run_id, source.name, day, drift)
        self._record_source(day, run_id, result)
        return result

    def _extract(self, day: date, source: SourceConfig) -> Extract:
        """What `source` delivers for `day`: files parsed lazily, or every API page fetched up front."""
        tz = self.config.timezone
        if source.url:
            with self.engine.connect() as conn:
                cursor = read_cursor(conn, source.name)
            day_end = self.day_end_utc(day).to_pydatetime()
            day_start = self.day_end_utc(day - timedelta(days=1)).to_pydatetime()
            fetched = pull(source, window_for(source, day_start, day_end, cursor), tz)
            return Extract(fetched.pages, fetched.batches, fetched.cursor_at)
        files = self._landing_files(day, source)
        return Extract([str(p) for p in files], [], files=files)

    def _file_batches(
        self, conn: sa.Connection, source: SourceConfig, run_id: str, files: list[Path], raw_table: str,
        drift: dict[Path, list[Drift]], unchanged: list[str], tally: Tally, reread: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """The batches of each landing file the file ledger says to read (see `sources/ledger.py`).

        A file already loaded with the same content, or the same content under another path, is
        noted in `unchanged` and not read; a changed file first loses the rows it left behind. Each
        file's ledger row is written once its last batch has been loaded. A helper process parses a
        batch ahead (`sources/reader.py`).
        """
        for path in files:
            found = ledger.check(conn, source.name, path, reread)
            if found.action in ("skip", "duplicate"):
                why = "already loaded" if found.action == "skip" else f"same content as {found.duplicate_of}"
                unchanged.append(f"{path.name}: {why}")
                if found.action == "duplicate":  # its rows are in, and every one a duplicate
                    tally.add(found.rows, 0, 0, found.rows)
                    ledger.record(conn, source.name, path, found, found.rows, run_id)
                continue
            if found.action == "reload":
                ledger.forget(conn, source.name, path, raw_table, STAGING_TABLE[source.family])
            rows = 0
            drift[path] = []
            for batch in read_ahead(source.format, path, source, self.config.timezone, drift[path]):
                rows += len(batch)
                yield batch
            ledger.record(conn, source.name, path, found, rows, run_id)

    def _load_files(
        self, conn: sa.Connection, day: date, source: SourceConfig, run_id: str, extract: Extract,
        drift: dict[Path, list[Drift]], reread: bool = False,
    ) -> SourceResult:
        from pipelines.quality.accounting import record_accounting
        from pipelines.quality.day import SourceDay, trailing_volumes
        from pipelines.quality.quarantine import duplicates_within, number_items, quarantine_rows
        from pipelines.validate import validate_batch, validation_rows  # GX is heavy: imported only to load

        family, tz = source.family, self.config.timezone
        raw_table = ensure_raw_table(conn, source.name)
        names = extract.names
        unchanged: list[str] = []
        tally = Tally()
        if extract.files:
            batches = self._file_batches(conn, source, run_id, extract.files, raw_table, drift, unchanged, tally,
                                         reread)
        else:  # API pages: a reload replaces the rows of the same page URLs
            conn.execute(in_list(f"delete from {raw_table} where _file in :files", "files"), {"files": names})
            conn.execute(in_list("delete from ops.quarantine where source = :source and file in :files", "files"),
                         {"source": source.name, "files": names})
            batches = iter(extract.batches)
        quality = self.config.quality
        check = SourceDay(family, source.name, self.day_end_utc(day), quality,
                          trailing_volumes(conn, source.name, day, quality.volume_history_days))
        carry = None
        for batch in batches:
            batch["_item"], carry = number_items(batch, carry)
            validation = validate_batch(batch, family, source.name, check.day_end_utc, check.tolerance)
            insert_frame(conn, self._raw_rows(batch, family, run_id), raw_table)
            insert_frame(conn, quarantine_rows(validation.quarantined, source.name, day, run_id),
                         "ops.quarantine")
            staged = to_staging(
                validation.good, family, source.name, tz=tz, pii_key=self.settings.pii_key,
                load_id=run_id, brand=self.config.brand, competitors=self.config.competitors,
                sentiment=self.sentiment, conn=conn,
            )
            loaded, existing = self.merge_staging(conn, family, staged)
            pause_point("load", self.settings.home)  # crash tests stop here, mid-transaction
            tally.add(len(batch), loaded, len(validation.quarantined),
                      duplicates_within(validation.good, ID_COLUMN[family]) + existing)
            check.add(batch, validation)
        if extract.files and len(unchanged) == len(extract.files):
            results = []  # nothing new was read: the day's checks ran when these files were loaded
        else:
            results = check.finish()
        record_accounting(conn, run_id, source.name, day, tally)
        insert_frame(conn, validation_rows(results, run_id, source.name, day), "ops.validation_results")
        note = f"{len(unchanged)} file(s) not loaded again: " + "; ".join(unchanged) if unchanged else ""
        return SourceResult(source.name, "success", files=len(names), rows_in=tally.rows_in,
                            rows_loaded=tally.rows_loaded, rows_quarantined=tally.rows_quarantined,
                            rows_duplicate=tally.rows_duplicate, message=note)

    @staticmethod
    def _raw_rows(batch: pd.DataFrame, family: str, run_id: str) -> pd.DataFrame:
        return pd.DataFrame({
            "item_id": storable_text(batch[ID_COLUMN[family]]),
            "item_at": batch[TIME_COLUMN[family]],
            "_record": storable_text(batch["_raw"]),
            "_parse_error": batch["_parse_error"],
            "_load_id": run_id,
            "_file": batch["_file"],
            "_line": batch["_line"].astype("int64"),
            "_loaded_at": pd.Timestamp.now(tz="UTC"),
        })

    @staticmethod
    def merge_staging(conn: sa.Connection, family: str, staged: pd.DataFrame) -> tuple[int, int]:
        """Merge staged rows by natural key (latest version wins).

        Returns (loaded, duplicate): rows new or newer than the stored version, and rows whose key
        is stored with the same or a later version — counted separately, so that together they
        must cover every staged row.
        """
        if staged.empty:
            return 0, 0
        upsert = sql_text("staging/upsert.sql").format(
            table=STAGING_TABLE[family], key=ID_COLUMN[family], columns=", ".join(staged.columns))
        with frame_as_table(conn, staged, "incoming"):
            for stmt in statements(upsert):
                conn.exec_driver_sql(stmt)
            kept = conn.exec_driver_sql("select count(*) from cx_stored where not replaced").scalar_one()
            conn.exec_driver_sql("drop table cx_stored")  # a failure rolls it back with the transaction
        return len(staged) - int(kept), int(kept)

    def _record_source(self, day: date, run_id: str, result: SourceResult) -> None:
        with self.engine.begin() as conn:
            self._write_source_run(conn, day, run_id, result)

    @staticmethod
    def _write_source_run(conn: sa.Connection, day: date, run_id: str, result: SourceResult) -> None:
        conn.execute(
            sa.text("insert into ops.source_runs values (:run_id, :source, :day, :status, :message, :files, :at)"),
            {"run_id": run_id, "source": result.source, "day": day, "status": result.status,
             "message": result.message, "files": result.files, "at": datetime.now(UTC)},
        )

    # -- marts and KPIs ----------------------------------------------------------------------

    def build_marts(self, day: date, run_id: str | None = None) -> int:
        """Rebuild the marts for every dirty date and kpi_daily for the dates they reach.

        One transaction: the marts move from one consistent state to the next, and only after
        the mart suites pass on the rows rebuilt (a critical failure raises RunError and rolls
        everything back). The facts' suite runs on the rows the build wrote, on a thread of its own
        while the KPIs are computed: those are published only if it passes, and if computing them
        fails, the suite's critical failure is what is raised. Returns the number of kpi_daily rows
        written.
        """
        from pipelines.quality.marts import check_marts, start_checks
        from pipelines.validate import validation_rows

        stop_helpers()  # the loads' helper processes: their memory would stand beside the marts' peak
        release_cache(self.engine)  # the marts need none of what the loads left cached
        release_freed()  # nor what they freed: each step here starts from the pages in use
        with marts_transaction(self.engine) as conn:
            marks = conn.execute(sa.text("select feedback_date, mark from ops.dirty_dates")).all()
            dirty = sorted(marked for marked, _ in marks)
            tracked = bool(dirty) and computed_since(conn, dirty[0])  # else every kpi date is new
            built, facts = None, None
            if dirty:
                built = build_star(conn, self.config.sources, self.taxonomy, changed_customers=tracked)
                facts = start_checks(conn, {"fct_feedback": dirty}, built.items, built.checked)  # the rows it wrote
                if built.items:
                    conn.exec_driver_sql(f"drop table {built.items}")
            else:
                sync_sources(conn, self.config.sources)
            release_freed()
            try:
                update = update_kpis(conn, day, dirty, self.taxonomy, changed_customers=tracked, built=built)
            finally:  # the facts' verdict, even when the KPIs failed: a critical failure of theirs is the cause
                results = facts() if facts else []
            release_freed()
            retagged = update.feedback_dates if update.feedback_dates != dirty else []  # a new taxonomy's tags
            results += check_marts(conn, {"fct_feedback": retagged, "kpi_daily": update.kpi_dates})
            insert_frame(conn, validation_rows(results, run_id or f"{day.isoformat()}-marts", "marts", day),
                         "ops.validation_results")
            clear_dirty_dates(conn, marks)
        return update.rows

    # -- report and delivery -----------------------------------------------------------------

    def publish(self, day: date, deliver: bool = True, resend: bool = False) -> tuple[Path, list]:
        """Render the web report for `day` and, when asked, deliver the emails (see report.deliver)."""
        from pipelines.report import deliver as send
        from pipelines.report import write_report

        path = write_report(self.engine, self.settings, self.config, day)
        return path, (send(self.engine, self.settings, self.config, day, resend=resend) if deliver else [])

    # -- whole days ----------------------------------------------------------------------------

    def start_run(self, day: date) -> str:
        """Record a new run for `day` and return its id."""
        run_id = f"{day.isoformat()}-{uuid.uuid4().hex[:12]}"
        with self.engine.begin() as conn:
            conn.execute(sa.text("insert into ops.runs values (:id, :day, :at, null, 'running', null)"),
                         {"id": run_id, "day": day, "at": datetime.now(UTC)})
        return run_id

    def finish_run(self, run_id: str, status: str, message: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text("update ops.runs set finished_at = :at, status = :status, message = :message "
                        "where run_id = :id"),
                {"id": run_id, "at": datetime.now(UTC), "status": status, "message": message},
            )

    def run_day(
        self, day: date, sources: list[str] | None = None, deliver: bool = True,
        progress: Progress | None = None,
    ) -> RunSummary:
        """The nightly pipeline for business day `day`."""
        selected = self.config.select(sources)
        run_id = self.start_run(day)
        summary = RunSummary(run_id, day)
        try:
            summary.sources = self._load_all(day, selected, run_id, progress)
            _note(progress, "marts and KPIs")
            summary.kpi_rows = self.build_marts(day, run_id)
            _note(progress, "report")
            summary.report, summary.outbox = self.publish(day, deliver)
        except Exception as exc:
            self.finish_run(run_id, "failed", str(exc))
            raise
        failed = summary.failed
        self.finish_run(run_id, "failed" if failed else "success",
                        "; ".join(f"{s.source}: {s.message}" for s in failed))
        return summary

    def backfill(
        self, start: date, end: date, *, force: bool = False, deliver: bool = False,
        chunk_days: int | None = None, chunk_rows: int | None = None, progress: BackfillCallback | None = None,
    ) -> BackfillResult:
        """Days start..end, resumable, marts built once per chunk (pipelines/warehouse/backfill.py)."""
        return run_backfill(self, start, end, BackfillResult(), force=force, deliver=deliver,
                            chunk_days=chunk_days, chunk_rows=chunk_rows, progress=progress)

    def status(self, today: date | None = None) -> StatusReport:
        """Freshness and health per source, for `cx status`."""
        today = today or date.today()
        with self.engine.connect() as conn:
            last_ok = dict(conn.execute(sa.text(
                "select source, max(business_date) from ops.source_runs where status = 'success' "
                "group by source")).all())
            last = dict(conn.execute(sa.text(
                "select source, status from (select source, status, row_number() over "
                "(partition by source order by finished_at desc) as rn from ops.source_runs) as r "
                "where rn = 1")).all())
            quarantined = dict(conn.execute(sa.text(
                "select source, count(*) from ops.quarantine group by source")).all())
            failures = [f"{r.business_date} {r.source}: {r.message}" for r in conn.execute(sa.text(
                "select business_date, source, message from ops.source_runs where status = 'failed' "
                "order by finished_at desc limit 10"))]
        rows = []
        for source in self.config.sources:
            ok = last_ok.get(source.name)
            rows.append(SourceStatus(source.name, ok, (today - ok).days if ok else None,
                                     last.get(source.name), int(quarantined.get(source.name, 0))))
        return StatusReport(rows, failures)

    def _load_all(self, day: date, sources: Iterable[SourceConfig], run_id: str,
                  progress: Progress | None, reread: bool = False) -> list[SourceResult]:
        """Load `sources` one after another; the helper parses the next one's first batch meanwhile,
        and the first one's while its load reads its suite (`_load_source`)."""
        sources = list(sources)
        results = []
        for source, following in zip(sources, [*sources[1:], None], strict=True):
            _note(progress, f"load {source.name}")
            if not results:
                self._parse_ahead(day, source)
            if following is not None:
                self._parse_ahead(day, following)
            results.append(self.load_source(day, source, run_id, reread))
        return results


def _note(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


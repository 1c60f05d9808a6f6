"""The `cx` command (CONTRACT.md): exit 0 success, 1 run failed, 2 bad usage or configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipelines.config import Settings, parse_date
from pipelines.errors import ConfigError, CxError

app = typer.Typer(help="CX Pipeline: reviews, mentions and surveys into CX KPIs and reports.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Warehouse schema commands.", no_args_is_help=True)
app.add_typer(db_app, name="db")
quarantine_app = typer.Typer(help="Rows that failed a critical expectation: list, show, replay.", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Path of sources.yml (default: CX_CONFIG).")]


def _pipeline(config: Path | None):
    from pipelines.run import Pipeline

    return Pipeline.from_env(config)


@contextmanager
def _progress(title: str) -> Iterator[Callable[[str], None]]:
    """A Rich spinner with the current stage on a terminal; silent otherwise."""
    if not out.is_terminal:
        yield lambda _message: None
        return
    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(title)
        yield lambda message: bar.update(task, description=f"{title}: {message}")


@contextmanager
def _backfill_progress(title: str) -> Iterator[Callable]:
    """Days done, rows/s and ETA: a Rich bar on a terminal, one plain line per step otherwise."""
    if not out.is_terminal:
        yield lambda state: out.print(f"{title}: {state}", highlight=False)
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[rate]}"), TextColumn("ETA {task.fields[eta]}"), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(title, total=None, rate="", eta="?")

        def show(state) -> None:
            eta = "?" if state.eta_seconds is None else f"{state.eta_seconds:,.0f}s"
            bar.update(task, total=state.days_total, completed=state.days_done, eta=eta,
                       rate=f"{state.rows_per_second:,.0f} rows/s", description=f"{title}: {state.stage}")

        yield show


@contextmanager
def _writing(pipeline) -> Iterator[None]:
    """Hold the warehouse-writer lock (pipelines/warehouse/lock.py) for the block; the engine is
    closed before the lock is released, so the next holder can open a DuckDB file at once."""
    from pipelines.warehouse.lock import warehouse_lock

    with warehouse_lock(pipeline.engine, pipeline.settings.home):
        try:
            yield
        finally:
            pipeline.engine.dispose()


@db_app.command("init")
def db_init(config: ConfigOpt = None) -> None:
    """Create or migrate the warehouse schemas (idempotent)."""
    pipeline = _pipeline(config)
    with _writing(pipeline):
        applied = pipeline.init_db()
    what = f"applied migrations {', '.join(map(str, applied))}" if applied else "already up to date"
    out.print(f"warehouse {_safe_url(pipeline.settings.warehouse_url)}: {what}")


@app.command("sample-data")
def sample_data(
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD.")],
    scale: Annotated[int, typer.Option(min=1, help="Volume multiplier.")] = 1,
    defects: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of deliberately broken rows.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same files.")] = 7,
    config: ConfigOpt = None,
) -> None:
    """Write realistic landing files for every built-in format."""
    from pipelines.config import load_config
    from pipelines.sample import generate

    d1, d2 = parse_date(start, "--start"), parse_date(end, "--end")
    _check_range(d1, d2)
    settings = Settings.from_env(config)
    cfg = load_config(settings.config_path)
    with _progress("sample data"):
        written = generate(settings.landing_dir, d1, d2, scale=scale, defects=defects, seed=seed,
                           tz=cfg.timezone, brand=cfg.brand, competitors=cfg.competitors)
    counts = ", ".join(f"{n:,} {fmt}" for fmt, n in written.items())
    out.print(f"sample data {d1}..{d2} in {settings.landing_dir}: {counts}")


@app.command("run")
def run(
    day: Annotated[str, typer.Option("--date", help="Business day, YYYY-MM-DD.")],
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")] = None,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="Deliver the report.")] = True,
    config: ConfigOpt = None,
) -> None:
    """The nightly pipeline for one business day."""
    d = parse_date(day)
    pipeline = _pipeline(config)
    with _writing(pipeline), _progress(f"run {d}") as note:
        pipeline.init_db()
        summary = pipeline.run_day(d, sources=source, deliver=deliver, progress=note)
    for s in summary.sources:
        line = (f"  {s.source}: {s.status}, {s.rows_in:,} in, {s.rows_loaded:,} loaded, "
                f"{s.rows_quarantined:,} quarantined, {s.rows_duplicate:,} duplicate")
        out.print(line + (f" — {s.message}" if s.status != "success" and s.message else ""))
    out.print(f"run {summary.run_id}: {summary.kpi_rows:,} KPI rows; report {summary.report}")
    if summary.failed:
        err.print(f"[red]failed sources: {', '.join(s.source for s in summary.failed)}[/red]")
        raise typer.Exit(1)


@app.command("backfill")
def backfill(
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last day, YYYY-MM-DD.")],
    force: Annotated[bool, typer.Option(
        "--force", help="Also redo days that already succeeded, rereading their files.")] = False,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="Email each day's report.")] = False,
    chunk_days: Annotated[int | None, typer.Option(
        "--chunk-days", min=1, help="At most this many days loaded before each build of the marts.")] = None,
    chunk_rows: Annotated[int | None, typer.Option(
        "--chunk-rows", min=1, help="Rows read before each build of the marts (default: below a large day).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Days D1..D2, resumable: days that already succeeded are skipped unless --force."""
    d1, d2 = parse_date(start, "--start"), parse_date(end, "--end")
    _check_range(d1, d2)
    pipeline = _pipeline(config)
    with _writing(pipeline), _backfill_progress(f"backfill {d1}..{d2}") as note:
        pipeline.init_db()
        result = pipeline.backfill(d1, d2, force=force, deliver=deliver, chunk_days=chunk_days,
                                   chunk_rows=chunk_rows, progress=note)
    out.print(f"backfill {d1}..{d2}: {result.days_run} days run, {result.days_skipped} skipped, "
              f"{result.rows_in:,} rows in ({result.rows_per_second:,.0f} rows/s); report {result.report}")
    if result.failed_days:
        err.print(f"[red]days with failed sources: {', '.join(map(str, result.failed_days))}[/red]")
        raise typer.Exit(1)


@app.command("purge")
def purge(
    before: Annotated[str, typer.Option("--before", help="Delete raw rows of business days before D, YYYY-MM-DD.")],
    config: ConfigOpt = None,
) -> None:
    """Delete raw input rows (the only copy of raw PII) of the business days before a date."""
    from pipelines.warehouse.purge import purge_raw

    d = parse_date(before, "--before")
    pipeline = _pipeline(config)
    with _writing(pipeline):
        pipeline.init_db()
        purged = purge_raw(pipeline.engine, pipeline.day_end_utc(d - timedelta(days=1)).to_pydatetime(), d)
    detail = ", ".join(f"{n:,} {table}" for table, n in purged.items())
    out.print(f"purged raw rows before {d}: {detail}")


@app.command("report")
def report(
    day: Annotated[str, typer.Option("--date", help="Business day, YYYY-MM-DD.")],
    send: Annotated[bool, typer.Option("--send", help="Deliver the report too.")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="Deliver even if already delivered.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Render (and optionally deliver) the report for a day from the marts."""
    d = parse_date(day)
    pipeline = _pipeline(config)
    with _writing(pipeline):
        pipeline.init_db()
        path, deliveries = pipeline.publish(d, deliver=send or resend, resend=resend)
    counts: dict[str, int] = {}
    for delivery in deliveries:
        counts[delivery.status] = counts.get(delivery.status, 0) + 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    where = "via SMTP" if pipeline.settings.smtp_url else f"in {pipeline.settings.outbox_dir / str(d)}"
    out.print(f"report {path}" + (f"; emails {where}: {summary}" if deliveries else ""))


@app.command("status")
def status(config: ConfigOpt = None) -> None:
    """Last successful day per source, freshness, recent failures and quarantine counts."""
    pipeline = _pipeline(config)
    pipeline.init_db()
    report = pipeline.status()
    table = Table("source", "last success", "days stale", "last status", "quarantined", title="sources")
    for row in report.sources:
        table.add_row(row.source, str(row.last_success or "never"),
                      "-" if row.days_stale is None else str(row.days_stale), row.last_status or "-",
                      f"{row.quarantined:,}")
    out.print(table)
    for run_row in report.failures:
        out.print(f"[red]failed[/red] {run_row}")


@app.command("data-docs")
def data_docs(
    day: Annotated[str | None, typer.Option("--date", help="Business day to validate (default: latest).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Build Great Expectations Data Docs into $CX_HOME/data_docs: every suite and one day's results."""
    from pipelines.quality.docs import build_data_docs

    pipeline = _pipeline(config)
    pipeline.init_db()
    with _progress("data docs"):
        index = build_data_docs(pipeline, parse_date(day) if day else None)
    out.print(f"data docs {index}")


@quarantine_app.command("list")
def quarantine_list(
    source: Annotated[str | None, typer.Option("--source", help="Only this source.")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Only this business day, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 50,
    config: ConfigOpt = None,
) -> None:
    """Quarantined rows, newest business day first: id, source, day, file:line, reason."""
    from pipelines.quality.quarantine import list_quarantine

    pipeline = _pipeline(config)
    pipeline.init_db()
    rows, total = list_quarantine(pipeline.engine, source, parse_date(day) if day else None, limit)
    table = Table("id", "source", "day", "file:line", "reason", title="quarantine")
    for r in rows:
        where = f"{r.file}:{r.line}" + (f" #{r.item + 1}" if r.item else "")
        table.add_row(r.quarantine_id, r.source, str(r.business_date), _printable(where), _printable(r.reason))
    out.print(table)
    out.print(f"{total:,} quarantined row(s)" + (f", {len(rows):,} shown" if total > len(rows) else ""))


@quarantine_app.command("show")
def quarantine_show(
    quarantine_id: Annotated[str, typer.Argument(help="The id `cx quarantine list` prints.")],
    config: ConfigOpt = None,
) -> None:
    """One quarantined row in full: where it came from, why, and the raw record."""
    from pipelines.quality.quarantine import show_quarantine

    pipeline = _pipeline(config)
    pipeline.init_db()
    row = show_quarantine(pipeline.engine, quarantine_id)
    for key, value in row._mapping.items():
        out.print(f"{key}: {_printable(value)}", markup=False, highlight=False)


@quarantine_app.command("replay")
def quarantine_replay(
    source: Annotated[list[str] | None, typer.Option("--source", help="Only these sources (repeatable).")] = None,
    day: Annotated[str | None, typer.Option("--date", help="Only this business day, YYYY-MM-DD.")] = None,
    quarantine_id: Annotated[list[str] | None, typer.Option("--id", help="Only these rows (repeatable).")] = None,
    marts: Annotated[bool, typer.Option("--marts/--no-marts", help="Rebuild the marts the rows touch.")] = True,
    config: ConfigOpt = None,
) -> None:
    """Re-parse and re-validate quarantined rows with the current config; rows that pass are loaded."""
    from pipelines.quality.quarantine import replay

    d = parse_date(day) if day else None
    pipeline = _pipeline(config)
    with _writing(pipeline), _progress("replay"):
        pipeline.init_db()
        result = replay(pipeline, source, d, quarantine_id)
        if marts and result.released:
            pipeline.build_marts(max(result.days))
    out.print(f"replayed {result.replayed:,}: {result.loaded:,} loaded, {result.duplicate:,} duplicate, "
              f"{result.still_quarantined:,} still quarantined")
    for note in result.not_found:
        err.print(f"[yellow]{_printable(note)}[/yellow]", highlight=False)


def _printable(value: object) -> str:
    """Text safe for a terminal: control characters shown as escapes, never sent raw."""
    text = str(value)
    return "".join(ch if ch.isprintable() or ch in "\n\t" else ch.encode("unicode_escape").decode() for ch in text)


def _check_range(d1: date, d2: date) -> None:
    if d2 < d1:
        raise ConfigError(f"--end {d2} is before --start {d1}")
    if d2 - d1 > timedelta(days=366 * 20):
        raise ConfigError(f"--start {d1} .. --end {d2} spans more than 20 years")


def _safe_url(url: str) -> str:
    """A warehouse URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparseable URL is reported by the engine itself
        return url.split("@")[-1]


def main() -> None:
    """Entry point: turn the pipeline's errors into messages and exit codes, never tracebacks."""
    try:
        # without standalone mode click returns a command's typer.Exit code instead of exiting
        code = app(standalone_mode=False)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except CxError as exc:
        err.print(f"[red]run failed:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click's usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("CX_DEBUG"):
            raise
        err.print(f"[red]run failed:[/red] {type(exc).__name__}: {exc} (set CX_DEBUG=1 for the traceback)",
                  highlight=False, soft_wrap=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)

"""The quarantine: rows that failed a critical expectation, how to list them, and replay.

A quarantined row is identified by (source, file, line, item) — `item` numbers the records of one
line, since an X search page holds many posts on one line — and by `quarantine_id`, the first 12
hex digits of md5 of those four (the same in Python and in SQL, see migration 004).

Replay re-reads the row's file with the source's current parser and configuration, so a fixed
`fields` mapping or parser applies, validates the rows again and merges the passing ones into
staging in one transaction per source and day (API pages are not fetched again: rerunning the
day does that). A row leaves the quarantine exactly when it
passes and is merged (as a new row, or as a duplicate of the version already stored); a row that
still fails stays, with its reason brought up to date.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.errors import ConfigError
from pipelines.quality.accounting import Tally, record_accounting
from pipelines.sources import get_parser
from pipelines.sources.base import ID_COLUMN
from pipelines.warehouse.db import frame_as_table, insert_frame

if TYPE_CHECKING:
    from pipelines.run import Pipeline

Carry = tuple[str, int, int] | None  # (file, line, records seen) of the last line of the previous batch
LIST_COLUMNS = "quarantine_id, source, business_date, file, line, item, reason"


def quarantine_id(source: str, file: str, line: int, item: int) -> str:
    """The stable handle of a quarantined row."""
    return hashlib.md5(f"{source}|{file}|{line}|{item}".encode()).hexdigest()[:12]


def number_items(batch: pd.DataFrame, carry: Carry) -> tuple[np.ndarray, Carry]:
    """The position of each row among the rows of its (file, line), continuing across batches."""
    if batch.empty:
        return np.zeros(0, dtype="int64"), carry
    items = batch.groupby(["_file", "_line"], sort=False).cumcount().to_numpy(dtype="int64")
    files, lines = batch["_file"].to_numpy(dtype=object), batch["_line"].to_numpy(dtype="int64")
    if carry is not None:
        items = items + np.where((files == carry[0]) & (lines == carry[1]), carry[2], 0)
    last = (str(files[-1]), int(lines[-1]), int(items[-1]) + 1)
    return items, last


def storable_text(values: pd.Series) -> pd.Series:
    """Text every warehouse can store: NUL, which PostgreSQL text rejects, kept as the escape `\\u0000`."""
    return values.astype("string").str.replace("\x00", "\\u0000", regex=False)


def quarantine_rows(bad: pd.DataFrame, source: str, day: date, run_id: str) -> pd.DataFrame:
    """ops.quarantine rows for the quarantined part of a validated batch (with `_item`)."""
    files = bad["_file"].astype("string").to_numpy(dtype=object)
    lines = bad["_line"].astype("int64").to_numpy()
    items = bad["_item"].astype("int64").to_numpy()
    return pd.DataFrame({
        "quarantine_id": [quarantine_id(source, f, int(n), int(i)) for f, n, i in zip(files, lines, items,
                                                                                     strict=True)],
        "run_id": run_id,
        "source": source,
        "business_date": pd.Series([day] * len(bad), dtype="object"),
        "file": files,
        "line": lines,
        "item": items,
        "expectation": bad["expectation"].astype("string").to_numpy(dtype=object),
        "column_name": bad["column"].astype("string").to_numpy(dtype=object),
        "reason": bad["reason"].astype("string").to_numpy(dtype=object),
        "raw_record": storable_text(bad["_raw"]).to_numpy(dtype=object),
    })


def list_quarantine(engine: sa.Engine, source: str | None = None, day: date | None = None,
                    limit: int = 50) -> tuple[list[Any], int]:
    """The newest quarantined rows matching the filters (at most `limit`), and how many match."""
    where, params = _filters(source, day, None)
    with engine.connect() as conn:
        total = conn.execute(sa.text(f"select count(*) from ops.quarantine where {where}"), params).scalar_one()
        rows = conn.execute(sa.text(
            f"select {LIST_COLUMNS} from ops.quarantine where {where} "
            "order by business_date desc, source, file, line, item limit :limit"), {**params, "limit": limit}).all()
    return list(rows), int(total)


def show_quarantine(engine: sa.Engine, qid: str) -> Any:
    """Every column of one quarantined row; ConfigError when the id is unknown."""
    with engine.connect() as conn:
        row = conn.execute(sa.text("select * from ops.quarantine where quarantine_id = :id"), {"id": qid}).one_or_none()
    if row is None:
        raise ConfigError(f"quarantine id {qid!r} not found (see `cx quarantine list`)")
    return row


@dataclass
class ReplayResult:
    """What a replay did, summed over sources and days."""

    replayed: int = 0
    loaded: int = 0
    duplicate: int = 0
    still_quarantined: int = 0
    not_found: list[str] = field(default_factory=list)  # why rows could not be re-read
    days: set[date] = field(default_factory=set)  # business days whose rows were released

    @property
    def released(self) -> int:
        return self.loaded + self.duplicate


def replay(pipeline: Pipeline, sources: Iterable[str] | None = None, day: date | None = None,
           ids: Iterable[str] | None = None) -> ReplayResult:
    """Re-parse and re-validate quarantined rows with the current configuration; load those that pass."""
    names = list(sources or [])
    pipeline.config.select(names)  # unknown source names are a usage error
    where, params = _filters(None, day, list(ids or []) or None)
    if names:
        where += " and source in :sources"
    stmt = sa.text(f"select quarantine_id, source, business_date, file, line, item from ops.quarantine "
                   f"where {where}")
    if names:
        stmt = stmt.bindparams(sa.bindparam("sources", expanding=True))
        params["sources"] = names
    with pipeline.engine.connect() as conn:
        pending = pd.DataFrame(conn.execute(stmt, params).all(),
                               columns=["quarantine_id", "source", "business_date", "file", "line", "item"])
    result = ReplayResult()
    configured = {s.name: s for s in pipeline.config.sources}
    for (name, business_date), rows in pending.groupby(["source", "business_date"], sort=True):
        if name not in configured:
            result.not_found.append(f"{name}: no longer configured ({len(rows)} row(s) stay)")
            continue
        if configured[name].url:
            result.not_found.append(f"{name}: an API source; replay re-reads files only, so rerun the day "
                                    f"(`cx run --date {business_date} --source {name}`) ({len(rows)} row(s) stay)")
            continue
        with pipeline.engine.begin() as conn:
            _replay_day(pipeline, conn, configured[name], business_date, rows, result)
    return result


def _replay_day(pipeline: Pipeline, conn: sa.Connection, source: Any, day: date, rows: pd.DataFrame,
                result: ReplayResult) -> None:
    from pipelines.enrich.stage import to_staging
    from pipelines.quality.day import SourceDay
    from pipelines.validate import validate_batch

    run_id = f"{day.isoformat()}-replay-{uuid.uuid4().hex[:12]}"
    wanted = set(rows["quarantine_id"])
    tz = pipeline.config.timezone
    check = SourceDay(source.family, source.name, pipeline.day_end_utc(day), pipeline.config.quality, [])
    tally = Tally()
    parse = get_parser(source.format)
    gone = 0
    for file in sorted(set(rows["file"])):
        path = Path(file)
        if not path.is_file():
            gone += int((rows["file"] == file).sum())
            result.not_found.append(f"{source.name}: {file} is gone; its rows stay")
            continue
        carry: Carry = None
        for batch in parse(path, source, tz):
            items, carry = number_items(batch, carry)
            ids = [quarantine_id(source.name, f, int(n), int(i))
                   for f, n, i in zip(batch["_file"], batch["_line"], items, strict=True)]
            keep = np.fromiter((q in wanted for q in ids), dtype=bool, count=len(ids))
            if not keep.any():
                continue
            sub = batch.loc[keep].reset_index(drop=True)
            sub["_item"] = items[keep]
            validation = validate_batch(sub, source.family, source.name, check.day_end_utc, check.tolerance)
            staged = to_staging(validation.good, source.family, source.name, tz=tz, pii_key=pipeline.settings.pii_key,
                                load_id=run_id, brand=pipeline.config.brand, competitors=pipeline.config.competitors,
                                sentiment=pipeline.sentiment, conn=conn)
            loaded, existing = pipeline.merge_staging(conn, source.family, staged)
            tally.add(len(sub), loaded, len(validation.quarantined),
                      duplicates_within(validation.good, ID_COLUMN[source.family]) + existing)
            released = pd.DataFrame({"quarantine_id": [
                quarantine_id(source.name, f, int(n), int(i)) for f, n, i in
                zip(sub["_file"], sub["_line"], sub["_item"], strict=True)
            ]}).loc[_good_mask(sub, validation.quarantined)]
            _delete(conn, released)
            again = quarantine_rows(validation.quarantined, source.name, day, run_id)
            _delete(conn, again[["quarantine_id"]])
            insert_frame(conn, again, "ops.quarantine")
            result.loaded += loaded
            result.duplicate += len(validation.good) - loaded
            if not validation.good.empty:
                result.days.add(day)
            result.still_quarantined += len(validation.quarantined)
    result.replayed += tally.rows_in
    if tally.rows_in:
        record_accounting(conn, run_id, source.name, day, tally)
    missing = len(rows) - tally.rows_in - gone
    if missing > 0:
        result.not_found.append(f"{source.name} {day}: {missing} row(s) not in their file any more; they stay")


def duplicates_within(good: pd.DataFrame, key: str) -> int:
    """Rows of a batch that repeat a natural key already in the batch (collapsed in staging)."""
    return int(len(good) - good[key].nunique(dropna=True))


def _good_mask(sub: pd.DataFrame, bad: pd.DataFrame) -> np.ndarray:
    bad_keys = set(zip(bad["_file"], bad["_line"], bad["_item"], strict=True))
    return np.fromiter(((f, n, i) not in bad_keys for f, n, i in zip(sub["_file"], sub["_line"], sub["_item"],
                                                                      strict=True)), dtype=bool, count=len(sub))


def _delete(conn: sa.Connection, ids: pd.DataFrame) -> None:
    if ids.empty:
        return
    with frame_as_table(conn, ids.reset_index(drop=True), "tmp_quarantine_ids"):
        conn.execute(sa.text(
            "delete from ops.quarantine where quarantine_id in (select quarantine_id from tmp_quarantine_ids)"))


def _filters(source: str | None, day: date | None, ids: list[str] | None) -> tuple[str, dict[str, Any]]:
    clauses, params = ["1 = 1"], {}
    if source:
        clauses.append("source = :source")
        params["source"] = source
    if day:
        clauses.append("business_date = :day")
        params["day"] = day
    if ids:
        clauses.append("quarantine_id in (" + ", ".join(f":id{i}" for i in range(len(ids))) + ")")
        params.update({f"id{i}": q for i, q in enumerate(ids)})
    return " and ".join(clauses), params

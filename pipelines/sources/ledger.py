"""The file ledger (`ops.file_ledger`) and the schema drift log (`ops.schema_drift`).

Every file a source reads is recorded with its size and SHA-256. Before a file is parsed the
ledger decides what to do with it:

- `skip`: this path was already loaded with the same content (a rerun of the day);
- `duplicate`: the same content was already loaded from another path (a re-delivery): it is
  recorded and its rows counted as duplicates (as many as the file it repeats held), never
  loaded twice;
- `reload`: this path was loaded before with other content (the vendor re-sent a corrected
  export), or with the same content when a forced backfill asks to reread it: the rows the old
  content left in raw, quarantine and staging are removed, their dates marked for a mart
  rebuild, and the new content loads in their place;
- `load`: a file never seen.

All of it runs inside the source's load transaction, so a failed load leaves the ledger as it was.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from pipelines.errors import SourceError
from pipelines.quality.quarantine import storable_text
from pipelines.sources.base import Drift
from pipelines.warehouse.db import insert_frame


@dataclass(frozen=True)
class FileCheck:
    """What the ledger says about one file, and the facts it decided on."""

    action: str  # load | reload | skip | duplicate
    size: int
    checksum: str
    duplicate_of: str | None = None
    rows: int = 0  # for a duplicate: the rows of the file it repeats, all of them duplicates


def digest(path: Path) -> tuple[int, str]:
    """The size and SHA-256 of a file, read in chunks (a 2 GB export never sits in memory). A file
    gone since it was listed, or unreadable, fails its source (SourceError), not the run."""
    try:
        with path.open("rb") as fh:
            checksum = hashlib.file_digest(fh, "sha256").hexdigest()
        return path.stat().st_size, checksum
    except OSError as exc:
        raise SourceError.unreadable(path, exc) from None


def check(conn: sa.Connection, source: str, path: Path, reread: bool = False) -> FileCheck:
    """Decide whether `path` is loaded, reloaded, skipped or recorded as a duplicate; with `reread`
    an unchanged path is reloaded (replaced, never added twice) instead of skipped."""
    size, checksum = digest(path)
    same_path = conn.execute(
        sa.text("select checksum from ops.file_ledger where source = :source and path = :path"),
        {"source": source, "path": str(path)}).scalar_one_or_none()
    if same_path == checksum:
        return FileCheck("reload" if reread else "skip", size, checksum)
    other = conn.execute(
        sa.text("select path, rows from ops.file_ledger where source = :source and checksum = :checksum "
                "and status = 'loaded' and path <> :path order by path limit 1"),
        {"source": source, "checksum": checksum, "path": str(path)}).one_or_none()
    if other is not None and size > 0:  # every empty file has the same checksum: none duplicates another
        return FileCheck("duplicate", size, checksum, duplicate_of=other.path, rows=int(other.rows))
    return FileCheck("load" if same_path is None else "reload", size, checksum)


def forget(conn: sa.Connection, source: str, path: Path, raw_table: str, staging_table: str) -> None:
    """Remove what an earlier load of `path` left behind; the dates it touched are rebuilt.

    `raw_table` and `staging_table` come from allow-listed names, never from user text.
    """
    params = {"source": source, "file": str(path)}
    conn.execute(sa.text(f"delete from {raw_table} where _file = :file"), params)
    conn.execute(sa.text("delete from ops.quarantine where source = :source and file = :file"), params)
    conn.execute(sa.text(
        f"insert into ops.dirty_dates (feedback_date) select distinct feedback_date from {staging_table} "
        "where source = :source and _file = :file "
        "on conflict (feedback_date) do update set mark = ops.dirty_dates.mark + 1"), params)
    conn.execute(sa.text(f"delete from {staging_table} where source = :source and _file = :file"), params)


def record(conn: sa.Connection, source: str, path: Path, found: FileCheck, rows: int, run_id: str) -> None:
    """Write the ledger row of a file just loaded (or recognised as a duplicate)."""
    conn.execute(sa.text("delete from ops.file_ledger where source = :source and path = :path"),
                 {"source": source, "path": str(path)})
    conn.execute(
        sa.text("insert into ops.file_ledger (source, path, size, checksum, rows, status, loaded_at, run_id) "
                "values (:source, :path, :size, :checksum, :rows, :status, :at, :run_id)"),
        {"source": source, "path": str(path), "size": found.size, "checksum": found.checksum, "rows": rows,
         "status": "duplicate" if found.action == "duplicate" else "loaded", "at": datetime.now(UTC),
         "run_id": run_id})


def record_drift(conn: sa.Connection, run_id: str, source: str, day: date, drift: dict[Path, list[Drift]]) -> int:
    """Log each file's drift in `ops.schema_drift`, replacing what an earlier read of the file logged."""
    rows = [{"run_id": run_id, "source": source, "business_date": day, "file": str(path), "change": d.change,
             "column_name": d.column, "detail": d.detail, "detected_at": pd.Timestamp.now(tz="UTC")}
            for path, found in drift.items() for d in {(x.change, x.column): x for x in found}.values()]
    for path in drift:
        conn.execute(sa.text("delete from ops.schema_drift where source = :source and file = :file"),
                     {"source": source, "file": str(path)})
    if rows:
        frame = pd.DataFrame(rows)
        frame["business_date"] = frame["business_date"].astype("object")
        for col in ("column_name", "detail"):  # headers come from the file: a misread encoding gives NULs
            frame[col] = storable_text(frame[col]).astype("object")
        insert_frame(conn, frame, "ops.schema_drift")
    return len(rows)

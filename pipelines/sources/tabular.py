"""Delimited files, shared by the CSV formats: reading rows, finding columns, building batches.

Rows are read one at a time through `csv` (never the whole file), so memory stays bounded by
the batch size. Text decodes with the configured encoding; bytes that are not valid in it (the
latin-1 `é` inside a UTF-8 export) are read as Windows-1252 instead of failing the file.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.errors import SourceError
from pipelines.sources import base
from pipelines.sources.base import SCHEMA, TS, conform, to_json, to_utc
from pipelines.sources.records import id_problem

FIELD_LIMIT = 64 * 1024 * 1024  # csv's default 128 KiB rejects real long answers
SCORE_ROLES = ("nps", "csat", "ces")
NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
LEADING_NUMBER = re.compile(r"^(\d{1,2})(?=\s|[-–—=:)])")

Row = tuple[int, list[str]]


class CsvRows:
    """The rows of an open CSV file as (physical start line, cells); csv errors name file and line."""

    def __init__(self, path: Path, fh: Any, options: dict[str, Any]) -> None:
        self.path = path
        self.reader = csv.reader(fh, delimiter=str(options.get("delimiter", ",")),
                                 quotechar=str(options.get("quotechar", '"')))

    def next(self) -> Row | None:
        """The next row, blank or not; None at the end of the file."""
        start = self.reader.line_num + 1
        try:
            cells = next(self.reader, None)
        except csv.Error as exc:
            raise SourceError(f"{self.path}:{start}: unreadable CSV: {exc}") from None
        return None if cells is None else (start, cells)

    def __iter__(self) -> Iterator[Row]:
        """The remaining non-blank rows."""
        while (row := self.next()) is not None:
            if any(c.strip() for c in row[1]):
                yield row


@contextmanager
def open_csv(path: Path, options: dict[str, Any], encoding: str = "utf-8-sig") -> Iterator[CsvRows]:
    """Open a delimited file with `options` (encoding, delimiter, quotechar) for `CsvRows`."""
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    encoding = str(options.get("encoding", encoding))
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        encoding = "utf-8-sig"  # a byte-order mark is never part of the first column's name
    try:
        fh = path.open(encoding=encoding, errors="cx_cp1252" if "8" in encoding else "replace", newline="")
    except LookupError:
        raise SourceError(f"{path}: unknown encoding {encoding!r} (options.encoding)") from None
    try:
        yield CsvRows(path, fh, options)
    except UnicodeError as exc:
        raise SourceError(f"{path}: cannot decode as {encoding}: {exc}") from None
    finally:
        fh.close()


def batched(rows: Iterable[Row]) -> Iterator[list[Row]]:
    """Rows in lists of at most BATCH_ROWS rows and about BATCH_BYTES of text: bounded memory."""
    pending: list[Row] = []
    size = 0
    for row in rows:
        pending.append(row)
        size += sum(map(len, row[1]))
        if len(pending) >= base.BATCH_ROWS or size >= base.BATCH_BYTES:
            yield pending
            pending, size = [], 0
    if pending:
        yield pending


def find_columns(
    path: Path, lookup: dict[str, int], defaults: dict[str, str | tuple[str, ...]], fields: dict[str, str],
    required: tuple[str, ...], width: int,
) -> dict[str, int]:
    """The column index of each role: `fields` over the format's defaults (a tuple lists old names).

    A required default or any column named in `fields` that the header lacks raises SourceError
    naming the file and the column, so the source fails and the others still run.
    """
    columns: dict[str, int] = {}
    missing: list[str] = []
    for role, wanted in {**defaults, **fields}.items():
        names = wanted if isinstance(wanted, tuple) else (wanted,)
        found = next((lookup[n] for n in names if n in lookup), None)
        if found is not None:
            columns[role] = found
        elif role in fields or role in required:
            missing.append(f"{names[0]!r} ({role})")
    if missing:
        raise SourceError(f"{path}: missing column {', '.join(missing)}; the header has {width} columns")
    return columns


def header_lookup(names: list[str]) -> dict[str, int]:
    """Column name -> first index, names stripped."""
    lookup: dict[str, int] = {}
    for i, name in enumerate(names):
        lookup.setdefault(name.strip(), i)
    return lookup


def score(role: str, value: str) -> tuple[float | None, str | None]:
    """A score cell: a numeric code, or a label with a leading number; any other label is an error."""
    if NUMBER.match(value):
        return float(value.replace(",", ".")), None
    match = LEADING_NUMBER.match(value)
    if match:
        return float(match.group(1)), None
    return None, f"{role}: label {value!r} has no numeric code"


def rows_frame(
    rows: list[Row], names: list[str], columns: dict[str, int], path: Path | str, family: str,
    zone: ZoneInfo | None, date_format: str | None = None, scores: bool = True,
) -> pd.DataFrame:
    """A canonical batch from (line, cells) rows of one file.

    Naive timestamps are local time in `zone`; score roles take numeric codes or labels with a
    leading number. Rows with fewer cells than the header, or extra non-empty cells (a trailing
    summary line), and Excel-mangled ids get a `_parse_error`.
    """
    width = len(names)
    id_role = next(iter(SCHEMA[family]))
    data: dict[str, list] = {role: [] for role in columns}
    lines, raws, errors = [], [], []
    for line, cells in rows:
        problems = []
        record: dict[str, Any] = dict(zip(names, cells, strict=False))
        extra = cells[width:]
        if extra:
            record["_extra"] = extra
        if len(cells) < width or any(c.strip() for c in extra):
            problems.append(f"expected {width} columns, found {len(cells)}")
        for role, i in columns.items():
            value = cells[i].strip() if i < len(cells) else ""
            value = value or None
            if value is not None and scores and role in SCORE_ROLES:
                value, problem = score(role, value)
                if problem:
                    problems.append(problem)
            data[role].append(value)
        if id_role in data and (problem := id_problem(data[id_role][-1])) is not None:
            problems.append(problem)
        lines.append(line)
        raws.append(to_json(record))
        errors.append("; ".join(problems) or None)
    df = pd.DataFrame(data, dtype="object")
    for role in columns:
        if SCHEMA[family][role] == TS:
            df[role] = to_utc(df[role], zone, date_format)
    df["_file"] = str(path)
    df["_line"] = lines
    df["_raw"] = raws
    df["_parse_error"] = errors
    return conform(df, family)

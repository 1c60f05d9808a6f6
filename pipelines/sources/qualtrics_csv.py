"""Qualtrics "Export data" CSV (`qualtrics_csv`), streamed row by row.

Variants read:
- the current export: three header rows — column names, the question text in the survey's UI
  language (German, Japanese …), and a JSON `{"ImportId": "QID1"}` per column;
- the legacy export (before 2017) with two header rows, detected because the third row's cells
  are not ImportId JSON; that row is then the first response;
- UTF-8 with or without a byte-order mark, CRLF or LF, quoted answers with embedded newlines;
  bytes that are not valid in the encoding (`options.encoding`, default utf-8-sig) become U+FFFD;
- empty and header-only files, which hold no responses.

Roles: `response_id: ResponseId`, `submitted_at: RecordedDate`, `respondent: RecipientEmail`,
`channel: DistributionChannel`, plus the source's `fields` map (`nps: Q1` …). A mapped column
is found by its name or by its ImportId (`nps: QID1` survives a renamed question). ResponseId,
RecordedDate and every column named in `fields` are required: a file without one raises
SourceError naming the file and the column.

`RecordedDate` is naive local time in the account's timezone: `options.timezone`, else the
`timeZone` the ImportId row declares for the column, else the business timezone. Score questions
(nps, csat, ces) may export numeric codes or labels; a label with a leading number ("10 -
Extremely likely") gives that number, any other label ("Extremely likely") gets a
`_parse_error`, because its position on the scale is unknown. Rows with a different number of
cells than the header (a trailing summary line) and Excel-mangled ids (`5.70306E+17`) get a
`_parse_error` too. `_line` is the physical line where the record starts.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import BATCH_ROWS, conform, to_json, to_utc
from pipelines.sources.records import id_problem

FAMILY = "survey"
DEFAULT_FIELDS: dict[str, str] = {
    "response_id": "ResponseId",
    "submitted_at": "RecordedDate",
    "respondent": "RecipientEmail",
    "channel": "DistributionChannel",
}
REQUIRED_DEFAULTS = ("response_id", "submitted_at")
SCORE_ROLES = ("nps", "csat", "ces")
FIELD_LIMIT = 64 * 1024 * 1024  # csv's default 128 KiB rejects real long answers
NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
LEADING_NUMBER = re.compile(r"^(\d{1,2})(?=\s|[-–—=:)])")

Row = tuple[int, list[str]]


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Canonical survey batches from one Qualtrics CSV export (see the module docstring)."""
    date_format = source.options.get("date_format")
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    encoding = source.options.get("encoding", "utf-8-sig")
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        try:
            names = [n.strip() for n in next(reader, [])]
            next(reader, None)  # the question text
            third_line = reader.line_num + 1
            third = next(reader, None)
        except csv.Error as exc:
            raise SourceError(f"{path}:{reader.line_num + 1}: unreadable CSV header: {exc}") from None
        if not any(names):
            return
        import_ids = _import_ids(third)
        columns = _columns(path, names, import_ids, source.fields)
        at = columns["submitted_at"]
        declared = import_ids[at] if import_ids and at < len(import_ids) else {}
        zone = _zone(path, source, declared.get("timeZone"), tz)
        pending: list[Row] = []
        if third is not None and import_ids is None:
            pending.append((third_line, third))
        start = reader.line_num + 1
        try:
            for cells in reader:
                if cells:
                    pending.append((start, cells))
                start = reader.line_num + 1
                if len(pending) == BATCH_ROWS:
                    yield _frame(pending, names, columns, path, zone, date_format)
                    pending = []
        except csv.Error as exc:
            raise SourceError(f"{path}:{start}: unreadable CSV: {exc}") from None
    if pending:
        yield _frame(pending, names, columns, path, zone, date_format)


def _zone(path: Path, source: SourceConfig, declared: object, tz: ZoneInfo) -> ZoneInfo:
    """The account timezone of naive RecordedDate values: configured, declared by the export, or `tz`."""
    name = source.options.get("timezone") or declared
    if not name:
        return tz
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{path}: unknown timezone {name!r} for RecordedDate (options.timezone or the "
                          f"ImportId row)") from None


def _import_ids(row: list[str] | None) -> list[dict] | None:
    """Each column's ImportId object when `row` is the third header row, else None (legacy export)."""
    if not row or not any(c.strip() for c in row):
        return None
    ids: list[dict] = []
    for cell in row:
        cell = cell.strip()
        if not cell:
            ids.append({})
            continue
        if not cell.startswith("{"):
            return None
        try:
            value = json.loads(cell)
        except json.JSONDecodeError:
            return None
        if not isinstance(value, dict) or "ImportId" not in value:
            return None
        ids.append(value)
    return ids


def _columns(path: Path, names: list[str], import_ids: list[dict] | None, fields: dict[str, str]) -> dict[str, int]:
    """The column index of each role; a required column that is missing raises SourceError."""
    by_name: dict[str, int] = {}
    for i, name in enumerate(names):
        by_name.setdefault(name, i)
    for i, import_id in enumerate(import_ids or []):
        if import_id:
            by_name.setdefault(str(import_id["ImportId"]), i)
    columns: dict[str, int] = {}
    missing: list[str] = []
    for role, column in {**DEFAULT_FIELDS, **fields}.items():
        if column in by_name:
            columns[role] = by_name[column]
        elif role in fields or role in REQUIRED_DEFAULTS:
            missing.append(f"{column!r} ({role})")
    if missing:
        raise SourceError(f"{path}: missing column {', '.join(missing)}; the header has {len(names)} columns")
    return columns


def _frame(
    rows: list[Row], names: list[str], columns: dict[str, int], path: Path, zone: ZoneInfo, date_format: str | None
) -> pd.DataFrame:
    """A canonical batch from (line, cells) rows."""
    width = len(names)
    data: dict[str, list] = {role: [] for role in columns}
    lines, raws, errors = [], [], []
    for line, cells in rows:
        problems = []
        record = dict(zip(names, cells, strict=False))
        extra = cells[width:]
        if extra:
            record["_extra"] = extra
        if len(cells) < width or any(c.strip() for c in extra):
            problems.append(f"expected {width} columns, found {len(cells)}")
        for role, i in columns.items():
            value = cells[i].strip() if i < len(cells) else ""
            value = value or None
            if value is not None and role in SCORE_ROLES:
                value, problem = _score(role, value)
                if problem:
                    problems.append(problem)
            data[role].append(value)
        if (problem := id_problem(data["response_id"][-1])) is not None:
            problems.append(problem)
        lines.append(line)
        raws.append(to_json(record))
        errors.append("; ".join(problems) or None)
    df = pd.DataFrame(data, dtype="object")
    df["submitted_at"] = to_utc(df["submitted_at"], zone, date_format)
    df["_file"] = str(path)
    df["_line"] = lines
    df["_raw"] = raws
    df["_parse_error"] = errors
    return conform(df, FAMILY)


def _score(role: str, value: str) -> tuple[float | None, str | None]:
    """A score cell: a numeric code, or a label with a leading number; any other label is an error."""
    if NUMBER.match(value):
        return float(value.replace(",", ".")), None
    match = LEADING_NUMBER.match(value)
    if match:
        return float(match.group(1)), None
    return None, f"{role}: label {value!r} has no numeric code"

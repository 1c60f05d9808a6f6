"""Qualtrics "Export data" CSV (`qualtrics_csv`), streamed row by row.

Variants read:
- the current export: three header rows — column names, the question text in the survey's UI
  language (German, Japanese …), and a JSON `{"ImportId": "QID1"}` per column;
- the legacy export (before 2017) with two header rows, detected because the third row's cells
  are not ImportId JSON; that row is then the first response;
- UTF-8 with or without a byte-order mark, CRLF or LF, quoted answers with embedded newlines;
  latin-1 bytes inside a UTF-8 file are read as Windows-1252 (`options.encoding`, default utf-8);
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
`_parse_error` too. `_line` is the physical line where the record starts. Drift is checked on the
standard metadata columns (question columns are the survey's own and vary by design).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import Drift, compare_columns
from pipelines.sources.tabular import batched, find_columns, header_lookup, open_csv, rows_frame

FAMILY = "survey"
DEFAULT_FIELDS: dict[str, str] = {
    "response_id": "ResponseId",
    "submitted_at": "RecordedDate",
    "respondent": "RecipientEmail",
    "channel": "DistributionChannel",
}
REQUIRED_DEFAULTS = ("response_id", "submitted_at")
EXPECTED_COLUMNS = [
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
    "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
]


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical survey batches from one Qualtrics CSV export (see the module docstring)."""
    date_format = source.options.get("date_format")
    with open_csv(path, source.options) as rows:
        first = rows.next()
        names = [n.strip() for n in first[1]] if first else []
        if not any(names):
            return
        rows.next()  # the question text
        third = rows.next()
        import_ids = _import_ids(third[1] if third else None)
        if drift is not None:
            question = set(source.fields.values())
            drift += compare_columns(EXPECTED_COLUMNS, [n for n in names if n in EXPECTED_COLUMNS or not _is_question(
                n, question)])
        lookup = header_lookup(names)
        for i, import_id in enumerate(import_ids or []):
            if import_id:
                lookup.setdefault(str(import_id["ImportId"]), i)
        columns = find_columns(path, lookup, DEFAULT_FIELDS, source.fields, REQUIRED_DEFAULTS, len(names))
        at = columns["submitted_at"]
        declared = import_ids[at] if import_ids and at < len(import_ids) else {}
        zone = _zone(path, source, declared.get("timeZone"), tz)
        first_data = [third] if third is not None and import_ids is None and any(c.strip() for c in third[1]) else []
        for chunk in batched(itertools.chain(first_data, rows)):
            yield rows_frame(chunk, names, columns, path, FAMILY, zone, date_format)


def _is_question(name: str, mapped: set[str]) -> bool:
    """A question column (`Q1`, `Q3_1`, `Q2 - Topics`, `QID5`) or one the source maps: not drift."""
    return name in mapped or (name[:1] == "Q" and name[1:2].isdigit()) or name.startswith("QID")


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

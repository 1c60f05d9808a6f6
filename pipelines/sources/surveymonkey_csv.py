"""SurveyMonkey "All responses" export (`surveymonkey_csv`): CSV or XLSX, streamed row by row.

Variants read:
- two header rows: row 1 `Respondent ID, Collector ID, Start Date, End Date, IP Address,
  Email Address, First Name, Last Name, Custom Data 1`, then each question's text with a blank
  cell after it for every extra sub-column; row 2 blank under the metadata, then `Response`,
  `Open-Ended Response` or the choice / matrix-row label of each sub-column;
- the variant without row 2 (detected because row 2 starts with a respondent id);
- the XLSX export of the same sheet (`.xlsx`, read with openpyxl in read-only mode).

A column is named by its question, or `question - sub-column` when row 2 names a choice or a
matrix row (`Open-Ended Response` and `Response` add nothing); a source's `fields` may use either
form. Roles: `response_id: Respondent ID`, `submitted_at: End Date`, `respondent: Email Address`,
plus `fields` (`nps: "How likely is it that you would recommend us to a friend?"` …). Dates are
`03/01/2024 10:02:11 AM`, naive, in `options.timezone` or the business timezone. Respondent ID,
End Date and every mapped column are required. Scores take numeric codes or labels with a leading
number, as in Qualtrics.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import Drift, compare_columns
from pipelines.sources.records import zone_of
from pipelines.sources.tabular import Row, batched, find_columns, header_lookup, open_csv, rows_frame

FAMILY = "survey"
DEFAULT_FIELDS: dict[str, str] = {
    "response_id": "Respondent ID",
    "submitted_at": "End Date",
    "respondent": "Email Address",
}
REQUIRED_DEFAULTS = ("response_id", "submitted_at")
EXPECTED_COLUMNS = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
                    "First Name", "Last Name"]
CUSTOM_DATA = "Custom Data"  # `Custom Data 1` … appear only when the collector passes custom data
DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
PLAIN_SUBS = ("", "Response", "Open-Ended Response")


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical survey batches from one SurveyMonkey export, CSV or XLSX (see the module docstring)."""
    rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path, source)
    yield from _batches(rows, path, source, tz, drift)


def _csv_rows(path: Path, source: SourceConfig) -> Iterator[Row]:
    with open_csv(path, source.options) as rows:
        while (row := rows.next()) is not None:
            yield row


def _xlsx_rows(path: Path) -> Iterator[Row]:
    """The first sheet's rows as text cells; dates and numbers formatted the way the CSV has them."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a broken workbook
        raise SourceError(f"{path}: unreadable XLSX workbook: {exc}") from None
    try:
        for number, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in values]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime(DATE_FORMAT) if isinstance(value, datetime) else value.strftime("%m/%d/%Y")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # Excel keeps every number as a float; ids and scores are integers
    return str(value)


def _batches(rows: Iterator[Row], path: Path, source: SourceConfig, tz: ZoneInfo,
             drift: list[Drift] | None) -> Iterator[pd.DataFrame]:
    first = next(rows, None)
    if first is None or not any(c.strip() for c in first[1]):
        return
    questions = first[1]
    second = next(rows, None)
    # row 2 is blank under the metadata; a response always has its collector and dates
    has_subs = second is not None and not any(c.strip() for c in second[1][:4])
    names = _names(questions, second[1] if has_subs and second else [])
    if drift is not None:
        meta = [n.strip() for n in questions[:_first_question(questions, second[1] if has_subs and second else [])]]
        drift += compare_columns(EXPECTED_COLUMNS, [n for n in meta if not n.startswith(CUSTOM_DATA)])
    lookup = header_lookup(names)
    for i, question in enumerate(q.strip() for q in questions):
        if question:
            lookup.setdefault(question, i)  # the question alone names its first sub-column
    columns = find_columns(path, lookup, DEFAULT_FIELDS, source.fields, REQUIRED_DEFAULTS, len(names))
    zone = zone_of(path, source.options.get("timezone"), tz)
    date_format = source.options.get("date_format", DATE_FORMAT)
    first_data = [second] if second is not None and not has_subs else []
    data = (row for row in itertools.chain(first_data, rows) if any(c.strip() for c in row[1]))
    for chunk in batched(data):
        yield rows_frame(chunk, names, columns, path, FAMILY, zone, date_format)


def _first_question(questions: list[str], subs: list[str]) -> int:
    """Where the questions start: the first column row 2 labels, or else the first unknown name."""
    if subs:
        return next((i for i, sub in enumerate(subs) if sub.strip()), len(questions))
    known = set(EXPECTED_COLUMNS)
    for i, name in enumerate(questions):
        if name.strip() not in known and not name.strip().startswith(CUSTOM_DATA):
            return i
    return len(questions)


def _names(questions: list[str], subs: list[str]) -> list[str]:
    """One name per column: the question carried over blank cells, plus a telling sub-column label."""
    names, current = [], ""
    for i, cell in enumerate(questions):
        current = cell.strip() or current
        sub = subs[i].strip() if i < len(subs) else ""
        names.append(current if sub in PLAIN_SUBS else f"{current} - {sub}")
    return names

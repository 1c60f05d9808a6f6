"""Qualtrics "Export data" CSV.

Three header rows: column names, the question text (in the survey's UI language), and a JSON
`{"ImportId": ...}` per column; legacy exports (before 2017) have only the first two. The
canonical roles come from the source's `fields` map (e.g. `nps: Q1`) on top of the defaults
`response_id: ResponseId`, `submitted_at: RecordedDate`. `RecordedDate` is naive local time in
the account's timezone (`options.timezone`, else the business timezone). Choice questions may
export numeric codes or labels: a label with a leading number ("10 - Extremely likely") gives
that number, the NPS anchors "Extremely likely" / "Not at all likely" give 10 / 0, and any other
label gives null, which validation then quarantines. `_line` is the physical line where the
record starts, so embedded newlines inside quoted answers do not shift it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import BATCH_ROWS, conform, to_json, to_utc

DEFAULTS = {"response_id": "ResponseId", "submitted_at": "RecordedDate"}
SCORES = ("nps", "csat", "ces")
ANCHORS = {"extremely likely": 10.0, "not at all likely": 0.0}
LEADING_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\b")


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Yield canonical survey batches, streaming the CSV."""
    encoding = source.options.get("encoding", "utf-8-sig")
    local_tz = ZoneInfo(source.options["timezone"]) if source.options.get("timezone") else tz
    mapping = {**DEFAULTS, **source.fields}
    with path.open(encoding=encoding, newline="", errors="strict") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                return  # an empty file delivers nothing
            next(reader, None)  # the question text
            last_line = reader.line_num
            third = next(reader, None)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(f"{path}: cannot read the header rows: {exc}") from None
        missing = [col for col in mapping.values() if col not in header]
        if missing:
            raise SourceError(f"{path}: missing column {', '.join(map(repr, missing))} "
                              f"(mapped by fields: {', '.join(r for r, c in mapping.items() if c in missing)})")
        pending: list[tuple[int, list[str]]] = []
        if third is not None and not _is_import_ids(third):
            pending.append((last_line + 1, third))  # a legacy two-row export: this is data
        last_line = reader.line_num
        try:
            for row in reader:
                pending.append((last_line + 1, row))
                last_line = reader.line_num
                if len(pending) >= BATCH_ROWS:
                    yield _batch(pending, header, mapping, path, local_tz)
                    pending = []
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SourceError(f"{path}:{last_line + 1}: unreadable CSV: {exc}") from None
        if pending:
            yield _batch(pending, header, mapping, path, local_tz)


def _is_import_ids(row: list[str]) -> bool:
    cells = [c for c in row if c.strip()]
    if not cells:
        return False
    try:
        return all(isinstance(json.loads(c), dict) and "ImportId" in json.loads(c) for c in cells)
    except json.JSONDecodeError:
        return False


def _batch(rows: list[tuple[int, list[str]]], header: list[str], mapping: dict[str, str], path: Path,
           tz: ZoneInfo) -> pd.DataFrame:
    width = len(header)
    index = {name: i for i, name in enumerate(header)}
    columns: dict[str, list] = {role: [] for role in mapping}
    raw, errors = [], []
    for _, row in rows:
        ok = len(row) == width
        errors.append(None if ok else f"expected {width} columns, found {len(row)}")
        raw.append(to_json(dict(zip(header, row, strict=False))) if ok else to_json(row))
        for role, col in mapping.items():
            value = row[index[col]] if ok else None
            columns[role].append(value if value != "" else None)
    df = pd.DataFrame(columns, dtype="object")
    for role in SCORES:
        if role in df:
            df[role] = df[role].map(_score)
    df["submitted_at"] = to_utc(df["submitted_at"], tz)
    df["_file"] = str(path)
    df["_line"] = [line for line, _ in rows]
    df["_raw"] = raw
    df["_parse_error"] = errors
    return conform(df, "survey")


def _score(value: object) -> float | None:
    """A numeric code, a label with a leading number, or an NPS anchor label; else None."""
    if value is None:
        return None
    text = str(value).strip()
    match = LEADING_NUMBER.match(text)
    if match:
        return float(match.group(1).replace(",", "."))
    return ANCHORS.get(text.lower())

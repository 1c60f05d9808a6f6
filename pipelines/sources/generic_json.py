"""Any JSON export (`json`) or JSON-lines file (`jsonl`), mapped to roles by the source's `fields`.

`fields` gives each role a dotted path into a record (`rating: review.stars`, `author:
user.name`; `[key=value]` picks a list element). `options`:

    records      where a JSON object keeps its list of records (`items`, `data.reviews`); a
                 top-level array needs none
    date_format  a strptime format for every timestamp role, or `unix` / `unix_ms`
    timezone     the zone of naive timestamps (default: the business timezone)
    scale        `{min: 1, max: 10}`: map the rating (reviews) or CSAT (surveys) onto 1–5
    keys         the top-level keys every record is expected to have; differences are drift

Ratings written as text (`4 stars`, `4,0`) are read as numbers; text roles are HTML-unescaped.
JSON files are read one record at a time (`records.json_items`); JSONL line by line, a broken line being
quarantined while the rest loads. Items without a mapped id get a deterministic one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import NUM, SCHEMA, TS, Drift, rescale
from pipelines.sources.records import RecordFormat, json_items, jsonl_items, record_batches


def record_format(source: SourceConfig) -> RecordFormat:
    """The RecordFormat a generic source's `fields` and `options` describe."""
    if not source.fields:
        raise SourceError(f"source {source.name}: format {source.format} needs a 'fields' map of role: path")
    text = frozenset(r for r, t in SCHEMA[source.family].items() if t not in (NUM, TS))
    records = source.options.get("records")
    return RecordFormat(family=source.family, fields={}, text_roles=text,
                        keys=tuple(str(k) for k in source.options.get("keys") or ()),
                        list_keys=(str(records),) if records else ())


def parse_records(items: Iterable[tuple[int, Any]], origin: Path | str, source: SourceConfig, tz: ZoneInfo,
                  drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical batches from numbered records of a generic source (files or API pages)."""
    for batch in record_batches(items, origin, source, tz, record_format(source), drift):
        yield rescale(batch, source.family, source.options.get("scale"), origin)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical batches from one JSON file: an array of records, or an object holding one."""
    items = json_items(path, record_format(source).list_keys)
    return parse_records(enumerate(items, start=1), path, source, tz, drift)


def read_lines(path: Path, source: SourceConfig, tz: ZoneInfo,
               drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical batches from one JSON-lines file, one record per line."""
    return parse_records(jsonl_items(path), path, source, tz, drift)

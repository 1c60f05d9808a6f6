"""Connectors: one module per export format, each exposing `read` (see `base.py`).

JSON formats also expose `FORMAT` (a `records.RecordFormat`; Typeform and the generic formats
build theirs from the source with `record_format(source)`): pages fetched from an HTTP API go
through `from_records`, the same record mapping the files use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from importlib import import_module
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import Drift, Parser

# format name -> "module" or "module:function" under pipelines.sources; imported only when used.
FORMATS: dict[str, str] = {
    "qualtrics_csv": "qualtrics_csv",
    "surveymonkey_csv": "surveymonkey_csv",
    "typeform_json": "typeform_json",
    "trustpilot_json": "trustpilot_json",
    "google_play_csv": "google_play_csv",
    "app_store_json": "app_store_json",
    "google_business_json": "google_business_json",
    "yelp_json": "yelp_json",
    "x_jsonl": "x_jsonl",
    "reddit_jsonl": "reddit_jsonl",
    "csv": "generic_csv",
    "json": "generic_json",
    "jsonl": "generic_json:read_lines",
}


def get_parser(fmt: str) -> Parser:
    """The file parser of a built-in format; a file it cannot read (gone since it was listed,
    unreadable) raises SourceError naming it, like every other bad file."""
    module, _, function = FORMATS[fmt].partition(":")
    return partial(_read_file, getattr(import_module(f"pipelines.sources.{module}"), function or "read"))


def _read_file(parse: Parser, path: Path, source: SourceConfig, tz: ZoneInfo,
               drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    try:
        yield from parse(path, source, tz, drift)
    except OSError as exc:
        raise SourceError.unreadable(path, exc) from None


def from_records(
    source: SourceConfig, records: Iterable[Any], tz: ZoneInfo, origin: str, start: int = 1,
    drift: list[Drift] | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical batches from JSON records already in memory (an HTTP API page's items).

    `records` are what the vendor's API returns per item — or whole pages, for formats whose
    pages carry more than a list (App Store's `included` responses, X's search pages, Reddit
    Listings); `origin` is recorded as `_file` (e.g. the request URL) and items are numbered from
    `start`. Raises KeyError for a format that is not JSON.
    """
    from pipelines.sources.records import record_batches

    module = import_module(f"pipelines.sources.{FORMATS[source.format].partition(':')[0]}")
    if hasattr(module, "parse_records"):  # generic JSON: options such as `scale` apply too
        return module.parse_records(enumerate(records, start=start), origin, source, tz, drift)
    if hasattr(module, "record_format"):
        fmt = module.record_format(source)
    elif hasattr(module, "FORMAT"):
        fmt = module.FORMAT
    else:
        raise KeyError(f"format {source.format} does not read JSON records")
    return record_batches(enumerate(records, start=start), origin, source, tz, fmt, drift)

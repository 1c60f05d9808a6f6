"""The canonical record of each family and the contract every format parser keeps.

A parser is `read(path, source, tz) -> Iterator[pd.DataFrame]`. It streams a file in bounded
batches; each batch has the family's canonical role columns (CONTRACT.md) with the dtypes in
`SCHEMA`, plus bookkeeping columns:

- `_file`: the path read, `_line`: the 1-based line (CSV/JSONL) or record number (JSON) in it;
- `_raw`: the original record as JSON text, kept for `raw.*` and for the quarantine;
- `_parse_error`: null, or why this record could not be parsed (it is then quarantined).

Timestamps are tz-aware UTC (`datetime64[us, UTC]`); a value that does not parse becomes NaT and
validation quarantines the row. Naive vendor timestamps are read in the vendor's documented zone,
or the configured business timezone when the format has none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import ROLES, SourceConfig

BATCH_ROWS = 50_000
TS = "datetime64[us, UTC]"
STR = "string"
NUM = "Float64"

_TYPES: dict[str, str] = {
    "created_at": TS, "updated_at": TS, "reply_at": TS, "submitted_at": TS,
    "rating": NUM, "nps": NUM, "csat": NUM, "ces": NUM, "likes": NUM, "shares": NUM, "replies": NUM,
}
SCHEMA: dict[str, dict[str, str]] = {
    family: {role: _TYPES.get(role, STR) for role in roles} for family, roles in ROLES.items()
}
META: dict[str, str] = {"_file": STR, "_line": "Int64", "_raw": STR, "_parse_error": STR}

ID_COLUMN = {"review": "review_id", "mention": "mention_id", "survey": "response_id"}
TIME_COLUMN = {"review": "created_at", "mention": "created_at", "survey": "submitted_at"}
TEXT_COLUMNS = {"review": ("title", "body"), "mention": ("text",), "survey": ("comment",)}

Parser = Callable[[Path, SourceConfig, ZoneInfo], Iterator[pd.DataFrame]]


def conform(df: pd.DataFrame, family: str) -> pd.DataFrame:
    """Give a parsed batch exactly the canonical columns and dtypes of its family, in order.

    Missing role columns become all-null; unparseable timestamps become NaT; numbers written as
    text that do not parse become null (validation then decides what that means).
    """
    out = pd.DataFrame(index=df.index)
    for col, dtype in {**SCHEMA[family], **META}.items():
        values = df[col] if col in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
        if dtype == TS:
            out[col] = to_utc(values)
        elif dtype == NUM:
            out[col] = pd.to_numeric(values, errors="coerce").astype(NUM)
        else:
            out[col] = values.astype(dtype)
    return out.reset_index(drop=True)


def to_utc(values: pd.Series, tz: ZoneInfo | None = None, fmt: str | None = None) -> pd.Series:
    """Parse timestamps to UTC; naive values are local time in `tz` (UTC when no `tz` is given).

    Values with offsets are converted whatever their offset, so a column mixing `Z` and `+01:00`
    parses; with a `tz`, naive values are localized (a DST gap or overlap gives NaT).
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(TS)
    if tz is not None:
        try:
            parsed = pd.to_datetime(values, errors="coerce", format=fmt or "mixed")
        except ValueError:  # offsets mixed with naive values: the offsets decide
            parsed = None
        if parsed is not None and getattr(parsed.dt, "tz", None) is None:
            return parsed.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC").astype(TS)
    return pd.to_datetime(values, errors="coerce", format=fmt or "mixed", utc=True).astype(TS)


def synthetic_id(source: str, text: str, timestamp: str) -> str:
    """A deterministic id for items without one: the same item always gets the same id."""
    normalized = " ".join(str(text).lower().split())
    digest = hashlib.sha256(f"{source}\x1f{normalized}\x1f{timestamp}".encode()).hexdigest()
    return f"h_{digest[:24]}"


def to_json(record: object) -> str:
    """The compact, stable JSON text kept in `_raw`."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)

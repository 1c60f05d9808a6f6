"""The canonical record of each family and the contract every format parser keeps.

A parser is `read(path, source, tz, drift=None) -> Iterator[pd.DataFrame]`. It streams a file in
bounded batches (memory stays flat whatever the file size); when given a `drift` list it appends a
`Drift` for each column renamed, added or missing against the format's expected columns. Each
batch has the family's canonical role columns (CONTRACT.md) with the dtypes in `SCHEMA`, plus
bookkeeping columns:

- `_file`: the path read, `_line`: the 1-based line (CSV/JSONL) or record number (JSON) in it;
- `_raw`: the original record as JSON text, kept for `raw.*` and for the quarantine;
- `_parse_error`: null, or why this record could not be parsed (it is then quarantined).

Timestamps are tz-aware UTC (`datetime64[us, UTC]`); a value that does not parse becomes NaT and
validation quarantines the row. Naive vendor timestamps are read in the vendor's documented zone,
or the configured business timezone when the format has none.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson
import pandas as pd

from pipelines.config import ROLES, SourceConfig


def _cp1252_fallback(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Bytes that are not UTF-8 read as Windows-1252: Excel's and older tools' exports mix them in."""
    bad = exc.object[exc.start:exc.end]
    return bad.decode("cp1252", errors="replace"), exc.end


codecs.register_error("cx_cp1252", _cp1252_fallback)  # every parser imports this module

BATCH_ROWS = 50_000
BATCH_BYTES = 8 * 1024 * 1024  # a batch also ends at this much input text: long answers keep memory flat
# (at 4 MiB a large day's batches held 5,000-20,000 rows, each paying GX's fixed ~70 ms: its loads
# took 52-54 s, 48 s at 8 MiB, 45 s at 16 MiB, which added 170-210 MB when parsing long answers)
TS = "datetime64[us, UTC]"
STR = "string"
NUM = "Float64"
EPOCH_UNITS = {"unix": "s", "unix_ms": "ms"}

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



@dataclass(frozen=True)
class Drift:
    """A column renamed, added or missing in a file against its format's expected columns."""

    change: str  # renamed | added | missing
    column: str
    detail: str = ""


class Parser(Protocol):
    def __call__(self, path: Path, source: SourceConfig, tz: ZoneInfo,
                 drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]: ...


def conform(df: pd.DataFrame, family: str) -> pd.DataFrame:
    """Give a parsed batch exactly the canonical columns and dtypes of its family, in order.

    Missing role columns become all-null; unparseable timestamps become NaT; numbers written as
    text (`4 stars`, `4,0`) are read, and text with no number becomes null (validation then
    decides what that means).
    """
    out = pd.DataFrame(index=df.index)
    for col, dtype in {**SCHEMA[family], **META}.items():
        values = df[col] if col in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
        if dtype == TS:
            out[col] = to_utc(values)
        elif dtype == NUM:
            out[col] = numbers(values).astype(NUM)
        else:
            out[col] = values.astype(dtype)
    return out.reset_index(drop=True)


def to_utc(values: pd.Series, tz: ZoneInfo | None = None, fmt: str | None = None) -> pd.Series:
    """Parse timestamps to UTC; naive values are local time in `tz` (UTC when no `tz` is given).

    Values with offsets are converted whatever their offset, so a column mixing `Z` and `+01:00`
    parses; with a `tz`, naive values are localized (a DST gap or overlap gives NaT). `fmt` is a
    strptime format, or `unix` / `unix_ms` for epoch seconds / milliseconds.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype(TS)
    if fmt in EPOCH_UNITS:
        seconds = pd.to_numeric(values, errors="coerce")  # strict: text with digits in it is not a time
        return pd.to_datetime(seconds, unit=EPOCH_UNITS[fmt], errors="coerce", utc=True).astype(TS)
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
    """The compact, stable JSON text kept in `_raw` (orjson: the stdlib encoder was the largest cost
    of reading JSON records; it still takes what orjson refuses, such as integers beyond 64 bits)."""
    try:
        return orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":"))


def parse_json(text: str | bytes) -> Any:
    """A JSON document; orjson first, the standard library for what it refuses (NaN, integers
    beyond 64 bits), whose JSONDecodeError then says exactly where a document is broken."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def compare_columns(expected: list[str], actual: list[str], renames: dict[str, str] | None = None) -> list[Drift]:
    """The drift between a format's expected columns and a file's: renamed, added or missing.

    `renames` maps a vendor's known old names to the current ones (Google Play's `Review URL` is
    now `Review Link`); otherwise a missing and an added column whose names are close (a changed
    case, an extra word) are reported as one rename.
    """
    have, want = set(actual), set(expected)
    missing = [c for c in expected if c not in have]
    added = [c for c in actual if c not in want and c]
    out: list[Drift] = []
    for old, new in (renames or {}).items():
        if new in missing and old in added:
            missing.remove(new)
            added.remove(old)
            out.append(Drift("renamed", new, f"{old!r} -> {new!r} (an older export)"))
    for column in list(missing):
        close = difflib.get_close_matches(column, added, n=1, cutoff=0.75)
        if close:
            missing.remove(column)
            added.remove(close[0])
            out.append(Drift("renamed", column, f"{column!r} -> {close[0]!r}"))
    out += [Drift("missing", c, "expected by the format, absent from the file") for c in missing]
    out += [Drift("added", c, "not among the format's expected columns") for c in added]
    return out


_NUMBER_IN_TEXT = re.compile(r"[-+]?\d+(?:[.,]\d+)?")


def number_from_text(value: object) -> float | None:
    """A number from a value written as text: `4`, `4,0`, `4 stars`, `4/5`, `★★★★☆`; else None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if text and set(text) <= {"★", "☆"}:
        return float(text.count("★"))
    match = _NUMBER_IN_TEXT.search(text)
    return float(match.group().replace(",", ".")) if match else None


def numbers(values: pd.Series) -> pd.Series:
    """`number_from_text` over a column, fast when it is already numeric."""
    parsed = pd.to_numeric(values, errors="coerce")
    todo = (parsed.isna() & values.notna()).to_numpy()
    if not todo.any():
        return parsed
    out = pd.Series(parsed, dtype="Float64").to_numpy(dtype="float64", na_value=float("nan"))
    found = [number_from_text(v) for v in values.to_numpy()[todo]]
    out[todo] = [float("nan") if v is None else v for v in found]
    return pd.Series(out, index=values.index)


SCALED_ROLE = {"review": "rating", "survey": "csat"}


def rescale(df: pd.DataFrame, family: str, scale: object, origin: Path | str) -> pd.DataFrame:
    """Map a source's rating (reviews) or CSAT (surveys) from `scale: {min, max}` onto 1–5, linearly.

    A 1–10 rating of 10 becomes 5 and of 1 becomes 1; values outside the stated scale stay
    outside 1–5, so validation quarantines them.
    """
    if not scale or family not in SCALED_ROLE:
        return df
    from pipelines.errors import SourceError

    try:
        low, high = float(scale["min"]), float(scale["max"])  # type: ignore[index]
    except (TypeError, KeyError, ValueError):
        raise SourceError(f"{origin}: options.scale must be {{min: N, max: M}}, got {scale!r}") from None
    if high <= low:
        raise SourceError(f"{origin}: options.scale max {high} is not above min {low}")
    role = SCALED_ROLE[family]
    df[role] = (1 + (df[role] - low) * 4 / (high - low)).astype(NUM)
    return df

"""Reading roles out of JSON records, shared by the JSON formats (files and HTTP API pages alike).

A role's source is a dotted path into a record; a `[key=value]` segment picks the first list
element whose `key` equals `value` (`tags[group=product].value`).

A JSON format is a `RecordFormat`: default role paths, the vendor's documented keys (for drift),
the zone of naive timestamps, and hooks that unwrap pages and fill format-specific roles. Files
stream through `json_items` (an array or an object's list, one record at a time) or
`jsonl_items` (line by line); records from anywhere — an HTTP API page included — go through
`record_batches`, the one place records become canonical batches.
"""

from __future__ import annotations

import html
import json
import json.scanner
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources import base
from pipelines.sources.base import (
    ID_COLUMN,
    NUM,
    SCHEMA,
    TEXT_COLUMNS,
    TIME_COLUMN,
    TS,
    Drift,
    compare_columns,
    conform,
    parse_json,
    synthetic_id,
    to_json,
    to_utc,
)

MANGLED_ID = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_SEGMENT = re.compile(r"^([^\[\]]*)(?:\[([^=\]]+)=([^\]]*)\])?$")

Step = tuple[str, str | None, str | None]


def compile_path(path: str) -> list[Step]:
    """Split a field path into (key, filter key, filter value) steps, e.g. `tags[group=product].value`."""
    steps: list[Step] = []
    for part in path.split("."):
        match = _SEGMENT.match(part)
        if match is None:
            raise SourceError(f"field path {path!r}: cannot parse segment {part!r}")
        steps.append((match.group(1), match.group(2), match.group(3)))
    return steps


def dig(node: Any, steps: list[Step]) -> Any:
    """The value at a compiled path, or None where any step is missing."""
    for key, filter_key, filter_value in steps:
        if key:
            if isinstance(node, dict):
                node = node.get(key)
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        if filter_key is not None:
            if not isinstance(node, list):
                return None
            node = next((x for x in node if isinstance(x, dict) and str(x.get(filter_key)) == filter_value), None)
        if node is None:
            return None
    return node


_NUMBERS = (int, float)  # exactly: a bool is not a number
Read = tuple[str, tuple[str, ...] | None, list[Step], bool, bool]  # role, plain keys, path, numeric, text


def compile_reads(paths: dict[str, list[Step]], family: str, text_roles: frozenset[str]) -> list[Read]:
    """How `record_row` reads each role, decided once a file: a path of plain keys (no `[key=value]`,
    no list index) is followed key by key, any other through `dig`."""
    schema = SCHEMA[family]
    reads = []
    for role, steps in paths.items():
        plain = all(key and not key.isdigit() and filter_key is None for key, filter_key, _ in steps)
        reads.append((role, tuple(key for key, _, _ in steps) if plain else None, steps,
                      schema.get(role) == NUM, role in text_roles))
    return reads


def record_row(record: Any, line: int, reads: list[Read], id_role: str | None) -> dict[str, Any]:
    """One JSON record as role values (`compile_reads`) plus `_line`, `_raw` and `_parse_error`;
    `id_role`, when mapped, is checked for an id that lost its digits."""
    row: dict[str, Any] = {"_line": line, "_raw": to_json(record), "_parse_error": None}
    if not isinstance(record, dict):
        row["_parse_error"] = f"expected a JSON object, got {type(record).__name__}"
        return row
    get = record.get
    for role, keys, steps, numeric, text in reads:
        if keys is None:
            value = dig(record, steps)
        elif len(keys) == 1:
            value = get(keys[0])
        else:  # dig's answer for plain keys, without its per-step checks
            value = record
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
                if value is None:
                    break
        if role == id_role:
            row["_parse_error"] = id_problem(value)
        kind = type(value)
        if value is None or (kind is str and not (text and "&" in value)) or (numeric and kind in _NUMBERS):
            row[role] = value  # json_value's answer for a plain string or number, without the call
        else:
            row[role] = json_value(value, numeric=numeric, text=text)
    return row


def id_problem(value: Any) -> str | None:
    """Why an id cannot be trusted: a JSON float or Excel's `5.70306E+17` has lost digits."""
    if isinstance(value, float) or (isinstance(value, str) and ("e" in value or "E" in value)
                                    and MANGLED_ID.match(value.strip())):
        return f"id {value!r} lost its digits (a float or Excel-mangled)"
    return None


def json_value(value: Any, *, numeric: bool = False, text: bool = False) -> Any:
    """A JSON value as a role expects it: numbers kept for numeric roles, strings otherwise.

    Integers become their exact digits (ids never go through float); nested objects become
    compact JSON text; `text` roles are HTML-unescaped.
    """
    if value is None:
        return None
    if numeric and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        return to_json(value)
    out = value if isinstance(value, str) else str(value)
    return html.unescape(out) if text and "&" in out else out


def records_frame(rows: list[dict[str, Any]], path: Path | str, family: str, zone: ZoneInfo | None = None,
                  date_format: str | None = None) -> pd.DataFrame:
    """A canonical batch from `record_row` rows of one file; naive timestamps are local to `zone`."""
    df = pd.DataFrame(rows)
    if zone is not None or date_format:
        for role, dtype in SCHEMA[family].items():
            if dtype == TS and role in df.columns:
                df[role] = to_utc(df[role].astype("object"), zone, date_format)
    df["_file"] = str(path)
    return conform(df, family)


RAW_LIMIT = 10_000  # characters of a broken line kept for the quarantine
KEY_SAMPLE = 1000  # records whose keys are compared with the format's (drift)

Hook = Callable[[dict[str, Any], dict[str, Any]], None]


@dataclass(frozen=True)
class RecordFormat:
    """How one vendor's JSON records map to a family's roles."""

    family: str
    fields: dict[str, str]
    text_roles: frozenset[str]
    keys: tuple[str, ...] = ()  # top-level keys every record carries
    optional_keys: tuple[str, ...] = ()  # documented keys a record may leave out
    timezone: str | None = None  # the zone of naive timestamps when the vendor documents one
    date_format: str | None = None  # how the vendor writes timestamps, when not ISO (`unix`)
    finish: Hook | None = None  # (record, row): fill format-specific roles after the paths
    unwrap: Callable[[Any], list[Any] | None] | None = None  # a page line -> its records
    list_keys: tuple[str, ...] = ()  # where an object file keeps its records
    renames: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BadLine:
    """A JSONL line that is not JSON: quarantined with the reason, the rest of the file loads."""

    text: str
    error: str


def json_items(path: Path, list_keys: tuple[str, ...]) -> Iterator[Any]:
    """The records of a JSON file: a top-level array, or the list under one of `list_keys`.

    Streamed, whatever the file's size (`JsonStream`): memory holds a chunk of text and one
    record, not the document. An object's list is the first of `list_keys` met in the document.
    Invalid or truncated JSON raises SourceError naming the file, line, column and character,
    as the whole document parsed at once would.
    """
    with path.open(encoding="utf-8-sig", errors="cx_cp1252") as fh:
        yield from JsonStream(fh, path).records(list_keys)


def load_json(path: Path) -> Any:
    """A whole JSON document (None for an empty file); invalid JSON names the file and position."""
    text = path.read_bytes().decode("utf-8-sig", errors="cx_cp1252")
    if not text.strip():
        return None
    try:
        return parse_json(text)
    except json.JSONDecodeError as exc:
        raise invalid_json(path, exc.msg, exc.lineno, exc.colno, exc.pos) from None


def invalid_json(origin: Path | str, message: str, line: int, column: int, char: int) -> SourceError:
    """The error for a broken JSON document, placed as `json` places it."""
    return SourceError(f"{origin}: invalid JSON at line {line} column {column} (char {char}): {message}")


def _listed(path: Path | str, data: Any, list_keys: tuple[str, ...]) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in list_keys:
            found = dig(data, compile_path(key))
            if isinstance(found, list):
                return found
    want = " or ".join(repr(k) for k in list_keys) or "records"
    raise SourceError(f"{path}: expected a JSON array or an object with a {want} list")


_SPACE = re.compile(r"[ \t\n\r]*")
_BLANK = ("", " ", "\t", "\n", "\r")  # a character _SPACE skips, or the window's end
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*\Z")  # the window ends in what could still be the number's
CHUNK = 1 << 20  # characters read at a time
RECORD_LIMIT = 64 << 20  # characters: a record still unparsed at this length is broken, not cut by a chunk


class JsonStream:
    """A JSON document read one value at a time from a text file, through a window of its text.

    The standard library's decoder parses each value from the window; a value the window cuts
    short is parsed again once more text has been read. Errors are placed from the start of the
    document (line, column, character), exactly as `json.loads` over the whole text places them.
    Measured on a 43 MB Trustpilot export, in the same minutes: 0.51-0.54 s and 7 MB more, against
    0.42-0.61 s and 289 MB for orjson over the whole document.
    """

    def __init__(self, fh: Any, origin: Path | str) -> None:
        self._fh = fh
        self._origin = origin
        self._scan = json.scanner.make_scanner(json.JSONDecoder())  # raw_decode's C scanner, called directly
        self._buf = ""
        self._pos = 0  # the cursor, in _buf
        self._base = 0  # characters of the document before _buf
        self._line = 1  # the line of _buf[0]
        self._col = 0  # its column, from 0
        self._eof = False

    def records(self, list_keys: tuple[str, ...]) -> Iterator[Any]:
        """The top-level array's items, or those of the first `list_keys` list met in the top-level
        object; nothing for an empty document."""
        first = self._peek()
        if first == "":
            return
        if first == "[":
            yield from self._items()
        elif first == "{":
            if not (yield from self._object_list([compile_path(key) for key in list_keys])):
                _listed(self._origin, {}, list_keys)
        else:
            _listed(self._origin, self._value(), list_keys)
        if self._peek() != "":
            raise self._error("Extra data", self._pos)

    def _object_list(self, paths: list[list[Step]]) -> Iterator[Any]:
        """The object at the cursor, streaming the items of its first member on one of `paths`:
        plain keys are followed into nested objects, anything else is parsed whole and dug into.
        Returns whether a list was found; the other members are parsed and dropped."""
        found = False
        self._pos += 1
        if self._peek() == "}":
            self._pos += 1
            return found
        while True:
            if self._peek() != '"':
                raise self._error("Expecting property name enclosed in double quotes", self._pos)
            key = self._value()
            if self._peek() != ":":
                raise self._error("Expecting ':' delimiter", self._pos)
            self._pos += 1
            here = [] if found else [p for p in paths if p[0][0] == key]
            plain = [p for p in here if p[0][1] is None]
            start = self._peek()
            if start == "[" and any(len(p) == 1 for p in plain):
                yield from self._items()
                found = True
            elif start == "{" and any(len(p) > 1 for p in plain):
                found = yield from self._object_list([p[1:] for p in plain if len(p) > 1])
            elif here:
                value = {key: self._value()}
                lists = [v for p in here if isinstance(v := dig(value, p), list)]
                if lists:
                    yield from lists[0]
                    found = True
            else:
                self._value()
            after = self._peek()
            self._pos += 1
            if after == "}":
                return found
            if after != ",":
                raise self._error("Expecting ',' delimiter", self._pos - 1)

    def _items(self) -> Iterator[Any]:
        """The items of the array at the cursor, one at a time."""
        self._pos += 1
        if self._peek() == "]":
            self._pos += 1
            return
        while True:
            yield self._value()
            after = self._peek()
            self._pos += 1
            if after == "]":
                return
            if after != ",":
                raise self._error("Expecting ',' delimiter", self._pos - 1)

    def _value(self) -> Any:
        """The value at the cursor (after whitespace), reading on while the window cuts it short:
        while it fails to parse, or is a number the window may have cut (`12` of `12.5`)."""
        self._peek()
        while True:
            try:
                value, end = self._scan(self._buf, self._pos)
                if self._eof or type(value) not in (int, float) or not _NUMBER_TAIL.match(self._buf, end):
                    self._pos = end
                    return value
            except StopIteration as exc:  # no value starts at the cursor
                if self._eof or len(self._buf) - self._pos > RECORD_LIMIT:
                    raise self._error("Expecting value", exc.value) from None
            except json.JSONDecodeError as exc:
                if self._eof or len(self._buf) - self._pos > RECORD_LIMIT:
                    raise self._error(exc.msg, exc.pos) from None
            self._read(max(CHUNK, len(self._buf) - self._pos))

    def _peek(self) -> str:
        """The next character after whitespace, '' at the end of the document."""
        if self._buf[self._pos:self._pos + 1] not in _BLANK:  # most often: no whitespace to skip
            return self._buf[self._pos]
        while True:
            self._pos = _SPACE.match(self._buf, self._pos).end()
            if self._pos < len(self._buf) or self._eof:
                return self._buf[self._pos:self._pos + 1]
            self._read(CHUNK)

    def _read(self, size: int) -> None:
        """Drop the text before the cursor and append up to `size` more characters."""
        done, self._buf = self._buf[:self._pos], self._buf[self._pos:]
        newlines = done.count("\n")
        self._line += newlines
        self._col = len(done) - done.rfind("\n") - 1 if newlines else self._col + len(done)
        self._base += len(done)
        self._pos = 0
        more = self._fh.read(size)
        self._eof = not more
        self._buf += more

    def _error(self, message: str, pos: int) -> SourceError:
        """The error for window position `pos`, placed in the whole document."""
        newlines = self._buf.count("\n", 0, pos)
        column = pos - self._buf.rfind("\n", 0, pos) if newlines else self._col + pos + 1
        return invalid_json(self._origin, message, self._line + newlines, column, self._base + pos)


def jsonl_items(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record or BadLine) for each non-blank line of a JSONL file, streamed."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8", errors="cx_cp1252").removeprefix("\ufeff").rstrip("\r\n")
            if not text.strip():
                continue
            try:
                yield number, parse_json(text)
            except json.JSONDecodeError as exc:
                yield number, BadLine(text[:RAW_LIMIT], f"invalid JSON: {exc.msg} at col {exc.colno}")


def record_batches(
    items: Iterable[tuple[int, Any]], origin: Path | str, source: SourceConfig, tz: ZoneInfo, fmt: RecordFormat,
    drift: list[Drift] | None = None,
) -> Iterator[pd.DataFrame]:
    """Canonical batches from numbered JSON records: the entry point for files and API pages alike.

    `items` are (line or record number, record); a record may be a `BadLine`, or a page that
    `fmt.unwrap` turns into records. `origin` is what `_file` records (a path or an API URL).
    Roles come from `fmt.fields` overridden by `source.fields`; naive timestamps are local to
    `options.timezone`, else the vendor's zone, else `tz`. Items without a mapped id get a
    deterministic one. A time role that none of the first records carries raises SourceError
    naming the origin and the key: the mapping is wrong, not the data.
    """
    family = fmt.family
    mapping = {**fmt.fields, **source.fields}
    paths = {role: compile_path(p) for role, p in mapping.items()}
    reads = compile_reads(paths, family, fmt.text_roles)
    zone = zone_of(origin, source.options.get("timezone") or fmt.timezone, tz)
    date_format = source.options.get("date_format") or fmt.date_format
    id_role, time_role = ID_COLUMN[family], TIME_COLUMN[family]
    mapped_id = id_role if id_role in paths else None
    text_roles = TEXT_COLUMNS[family]
    seen: set[str] = set()
    checked, count, with_time = False, 0, 0
    batch: list[dict[str, Any]] = []
    size = 0
    for number, item in items:
        records = fmt.unwrap(item) if fmt.unwrap is not None and not isinstance(item, BadLine) else None
        for record in [item] if records is None else records:
            if isinstance(record, BadLine):
                row: dict[str, Any] = {"_line": number, "_raw": record.text, "_parse_error": record.error}
            else:
                row = record_row(record, number, reads, mapped_id)
                if isinstance(record, dict):
                    if fmt.finish is not None:
                        fmt.finish(record, row)
                    if mapped_id is None and row.get(id_role) is None:
                        text = " ".join(str(row.get(r) or "") for r in text_roles)
                        row[id_role] = synthetic_id(source.name, text, str(row.get(time_role)))
                    if count < KEY_SAMPLE:
                        seen.update(record)
                count += 1
                with_time += row.get(time_role) is not None
            batch.append(row)
            size += len(row["_raw"])
            if not checked and count >= KEY_SAMPLE:
                checked = _check_sample(origin, fmt, mapping, time_role, count, with_time, seen, drift)
            if len(batch) >= base.BATCH_ROWS or size >= base.BATCH_BYTES:
                yield records_frame(batch, origin, family, zone, date_format)
                batch, size = [], 0
    if not checked and count:
        _check_sample(origin, fmt, mapping, time_role, count, with_time, seen, drift)
    if batch:
        yield records_frame(batch, origin, family, zone, date_format)


def _check_sample(origin: Path | str, fmt: RecordFormat, mapping: dict[str, str], time_role: str, count: int,
                  with_time: int, seen: set[str], drift: list[Drift] | None) -> bool:
    """Drift in the sampled records' keys, and a required time key that none of them has."""
    if drift is not None and fmt.keys:
        actual = sorted(k for k in seen if k not in fmt.optional_keys)
        drift += compare_columns(list(fmt.keys), actual, fmt.renames)
    if with_time == 0:
        raise SourceError(f"{origin}: missing column {mapping[time_role]!r} ({time_role}): none of the first "
                          f"{count} records has it")
    return True


def zone_of(origin: Path | str, name: object, tz: ZoneInfo) -> ZoneInfo:
    """The zone named by an option or the vendor, else `tz`; an unknown name is a SourceError."""
    if not name:
        return tz
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise SourceError(f"{origin}: unknown timezone {name!r} (options.timezone)") from None

"""Reading roles out of JSON records, shared by the JSON formats.

A role's source is a dotted path into a record; a `[key=value]` segment picks the first list
element whose `key` equals `value` (`tags[group=product].value`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import SourceError
from pipelines.sources.base import ID_COLUMN, NUM, SCHEMA, conform, to_json

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


def record_row(
    record: Any, line: int, paths: dict[str, list[Step]], family: str, text_roles: frozenset[str]
) -> dict[str, Any]:
    """One JSON record as role values plus `_line`, `_raw` and `_parse_error`."""
    row: dict[str, Any] = {"_line": line, "_raw": to_json(record), "_parse_error": None}
    if not isinstance(record, dict):
        row["_parse_error"] = f"expected a JSON object, got {type(record).__name__}"
        return row
    schema = SCHEMA[family]
    for role, steps in paths.items():
        value = dig(record, steps)
        if role == ID_COLUMN[family]:
            row["_parse_error"] = id_problem(value)
        row[role] = json_value(value, numeric=schema.get(role) == NUM, text=role in text_roles)
    return row


def id_problem(value: Any) -> str | None:
    """Why an id cannot be trusted: a JSON float or Excel's `5.70306E+17` has lost digits."""
    if isinstance(value, float) or (isinstance(value, str) and MANGLED_ID.match(value.strip())):
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


def records_frame(rows: list[dict[str, Any]], path: Path, family: str) -> pd.DataFrame:
    """A canonical batch from `record_row` rows of one file."""
    df = pd.DataFrame(rows)
    df["_file"] = str(path)
    return conform(df, family)

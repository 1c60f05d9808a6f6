"""Trustpilot reviews (`trustpilot_json`): a JSON file of review objects as the API returns them.

Variants read:
- a JSON array of review objects (an export, or API pages saved and concatenated);
- one API page, `{"reviews": [...], "links": [{"rel": "next-page", ...}], ...}`;
- an empty or blank file, which holds no reviews.

Roles come from the vendor's keys, and a source's `fields` map overrides any of them with a
dotted path into the review object; a `[key=value]` segment picks the first list element whose
`key` equals `value`:

    review_id  id                  rating      stars          title   title
    body       text                language    language       author  consumer.displayName
    created_at createdAt           updated_at  updatedAt      url     https://www.trustpilot.com/reviews/<id>
    reply_text reply.message       reply_at    reply.createdAt
    location   location.name       (a location review names the branch it is about)
    product    tags[group=product].value   (the invitation tag a business attaches per product)

Text roles are HTML-unescaped (`&amp;` → `&`); markup stays as plain text, escaping it is the
report's job. `_line` is the 1-based index of the review in the file. A file that is not valid
JSON as a whole raises SourceError with the error position; a record that is not an object, or
whose id is a float or Excel-mangled (`5.70306E+17`), gets a `_parse_error` and is quarantined.
The JSON file is read whole (JSON has no streaming boundary); batches still stay bounded.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import BATCH_ROWS, SCHEMA, conform

FAMILY = "review"
DEFAULT_FIELDS: dict[str, str] = {
    "review_id": "id",
    "rating": "stars",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "title": "title",
    "body": "text",
    "language": "language",
    "author": "consumer.displayName",
    "reply_text": "reply.message",
    "reply_at": "reply.createdAt",
    "location": "location.name",
    "product": "tags[group=product].value",
}
REVIEW_URL = "https://www.trustpilot.com/reviews/{id}"
TEXT_ROLES = frozenset({"title", "body", "author", "reply_text", "product", "location"})
NUMERIC_ROLES = frozenset(r for r, t in SCHEMA[FAMILY].items() if t == "Float64")
MANGLED_ID = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+-]?\d+$")
_SEGMENT = re.compile(r"^([^\[\]]*)(?:\[([^=\]]+)=([^\]]*)\])?$")

Step = tuple[str, str | None, str | None]


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Trustpilot JSON file (see the module docstring)."""
    records = _records(path)
    paths = {role: compile_path(p) for role, p in {**DEFAULT_FIELDS, **source.fields}.items()}
    batch: list[dict[str, Any]] = []
    for line, record in enumerate(records, start=1):
        batch.append(_row(record, line, paths))
        if len(batch) == BATCH_ROWS:
            yield _frame(batch, path)
            batch = []
    if batch:
        yield _frame(batch, path)


def _records(path: Path) -> list[Any]:
    """The review records of a file: an array, or the `reviews` of an API page."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"{path}: cannot read file: {exc}") from None
    if not text.strip():
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
        ) from None
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("reviews"), list):
        return data["reviews"]
    raise SourceError(f"{path}: expected a JSON array of reviews or an API page with a 'reviews' list")


def compile_path(path: str) -> list[Step]:
    """Split a dotted path into (key, filter key, filter value) steps, e.g. `tags[group=product].value`."""
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


def _row(record: Any, line: int, paths: dict[str, list[Step]]) -> dict[str, Any]:
    """One review record as role values plus `_line`, `_raw` and `_parse_error`."""
    row: dict[str, Any] = {"_line": line, "_raw": json.dumps(record, ensure_ascii=False, sort_keys=True)}
    if not isinstance(record, dict):
        row["_parse_error"] = f"expected a review object, got {type(record).__name__}"
        return row
    for role, steps in paths.items():
        row[role] = _value(role, dig(record, steps))
    review_id = dig(record, paths["review_id"])
    if isinstance(review_id, float) or (isinstance(review_id, str) and MANGLED_ID.match(review_id)):
        row["_parse_error"] = f"id {review_id!r} lost its digits (float or Excel-mangled)"
    if "url" not in paths and row["review_id"] is not None:
        row["url"] = REVIEW_URL.format(id=row["review_id"])
    return row


def _value(role: str, value: Any) -> Any:
    """A JSON value as its role expects: numbers kept for numeric roles, text otherwise."""
    if value is None:
        return None
    if role in NUMERIC_ROLES and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = value if isinstance(value, str) else str(value)
    return html.unescape(text) if role in TEXT_ROLES and "&" in text else text


def _frame(rows: list[dict[str, Any]], path: Path) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["_file"] = str(path)
    return conform(df, FAMILY)

"""Trustpilot reviews (`trustpilot_json`): a JSON file of review objects as the API returns them.

Variants read:
- a JSON array of review objects (an export, or API pages saved and concatenated);
- one API page, `{"reviews": [...], "links": [{"rel": "next-page", ...}], ...}`;
- an empty or blank file, which holds no reviews;
- bytes that are not valid UTF-8, which become U+FFFD (the rest of the file still loads).

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

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import BATCH_ROWS
from pipelines.sources.records import compile_path, record_row, records_frame

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


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Trustpilot JSON file (see the module docstring)."""
    records = _records(path)
    paths = {role: compile_path(p) for role, p in {**DEFAULT_FIELDS, **source.fields}.items()}
    batch: list[dict[str, Any]] = []
    for line, record in enumerate(records, start=1):
        row = record_row(record, line, paths, FAMILY, TEXT_ROLES)
        if "url" not in paths and row.get("review_id") is not None:
            row["url"] = REVIEW_URL.format(id=row["review_id"])
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield records_frame(batch, path, FAMILY)
            batch = []
    if batch:
        yield records_frame(batch, path, FAMILY)


def _records(path: Path) -> list[Any]:
    """The review records of a file: an array, or the `reviews` of an API page."""
    try:
        # bytes that are not UTF-8 (latin-1 in a UTF-8 export) become U+FFFD instead of failing the file
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
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

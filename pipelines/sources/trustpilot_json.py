"""Trustpilot reviews (`trustpilot_json`): a JSON file of review objects as the API returns them.

Variants read:
- a JSON array of review objects (an export, or API pages saved and concatenated);
- one API page, `{"reviews": [...], "links": [{"rel": "next-page", ...}], ...}`;
- an empty or blank file, which holds no reviews;
- bytes that are not valid UTF-8 (latin-1 in a UTF-8 export), read as Windows-1252.

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
Files are read one review at a time (`records.json_items`). API pages go through `FORMAT` with
`records.record_batches`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, json_items, record_batches

REVIEW_URL = "https://www.trustpilot.com/reviews/{id}"


def _finish(record: dict[str, Any], row: dict[str, Any]) -> None:
    if "url" not in row and row.get("review_id") is not None:
        row["url"] = REVIEW_URL.format(id=row["review_id"])


FORMAT = RecordFormat(
    family="review",
    fields={
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
    },
    text_roles=frozenset({"title", "body", "author", "reply_text", "product", "location"}),
    keys=("id", "stars", "title", "text", "createdAt", "consumer"),
    optional_keys=("language", "updatedAt", "businessUnit", "status", "verificationLevel", "reply", "location",
                   "tags", "links", "isVerified", "numberOfLikes", "companyReply", "experiencedAt", "source",
                   "referralEmail", "referenceId", "countsTowardsTrustScore", "countsTowardsLocationTrustScore"),
    finish=_finish,
    list_keys=("reviews",),
)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Trustpilot JSON file (see the module docstring)."""
    return record_batches(enumerate(json_items(path, FORMAT.list_keys), start=1), path, source, tz, FORMAT, drift)

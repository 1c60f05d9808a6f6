"""Google Business Profile reviews (`google_business_json`): `accounts.locations.reviews.list` pages.

Variants read: one page `{"reviews": [...], "averageRating", "totalReviewCount",
"nextPageToken"}`, or a JSON array of review objects. A review: `name`
(`accounts/…/locations/<id>/reviews/<id>`), `reviewId`, `reviewer {displayName, isAnonymous}`,
`starRating` (an enum `ONE` … `FIVE`, not a number), `comment`, `createTime`, `updateTime`,
`reviewReply {comment, updateTime}`.

Roles: `review_id: reviewId`, `rating` from the enum (`STAR_RATING_UNSPECIFIED` or an unknown
value gets a `_parse_error`), `body: comment` — for a comment Google translated, the original
text after `(Original)` —, `author: reviewer.displayName` (none when anonymous), `created_at:
createTime`, `updated_at: updateTime`, `location`: the location id in `name`, `reply_text` and
`reply_at` from `reviewReply`. The reply time is its last-modified time, not when it was first
posted, so reply-time KPIs for this source can only over-estimate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, json_items, record_batches

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
LOCATION = re.compile(r"locations/([^/]+)")
ORIGINAL = re.compile(r"\(Original\)\s*(.*)\Z", re.S)
TRANSLATED = re.compile(r"^\(Translated by Google\)\s*", re.S)


def _finish(review: dict[str, Any], row: dict[str, Any]) -> None:
    if "rating" in row and isinstance(review.get("starRating"), str):
        enum = review["starRating"]
        row["rating"] = STARS.get(enum)
        if row["rating"] is None:
            row["_parse_error"] = row["_parse_error"] or f"starRating {enum!r} is not ONE … FIVE"
    body = row.get("body")
    if isinstance(body, str) and TRANSLATED.match(body):
        original = ORIGINAL.search(body)
        row["body"] = original.group(1).strip() if original else TRANSLATED.sub("", body)
    if (review.get("reviewer") or {}).get("isAnonymous"):
        row["author"] = None
    if row.get("location") is None and isinstance(review.get("name"), str):
        match = LOCATION.search(review["name"])
        row["location"] = match.group(1) if match else None


FORMAT = RecordFormat(
    family="review",
    fields={"review_id": "reviewId", "rating": "starRating", "body": "comment", "author": "reviewer.displayName",
            "created_at": "createTime", "updated_at": "updateTime", "reply_text": "reviewReply.comment",
            "reply_at": "reviewReply.updateTime"},
    text_roles=frozenset({"body", "author", "reply_text"}),
    keys=("name", "reviewId", "reviewer", "starRating", "createTime", "updateTime"),
    optional_keys=("comment", "reviewReply"),
    finish=_finish,
    list_keys=("reviews",),
)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Google Business Profile reviews file (see the module docstring)."""
    return record_batches(enumerate(json_items(path, FORMAT.list_keys), start=1), path, source, tz, FORMAT, drift)

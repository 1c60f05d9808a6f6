"""App Store Connect customer reviews (`app_store_json`): `GET /v1/apps/{id}/customerReviews`.

Variants read: one page `{"data": [customerReviews …], "included": [customerReviewResponses …],
"links": {"next"}}`, a JSON array of such pages, or a JSON array of review objects. A review is
`{"type": "customerReviews", "id", "attributes": {"rating", "title", "body", "reviewerNickname",
"createdDate" (with an offset, e.g. -08:00), "territory" (ISO-3)}, "relationships": {"response":
{"data": {"type", "id"}}}}`; its developer response is the `customerReviewResponses` object of
that id in `included` (`responseBody`, `lastModifiedDate`, `state`), or inline under
`response`. Only a `PUBLISHED` response counts as a reply (`PENDING_PUBLISH` is not public yet).

Roles: `review_id: id`, `rating`, `title`, `body`, `author: reviewerNickname`, `created_at:
createdDate`, `location: territory`, `reply_text: responseBody`, `reply_at: lastModifiedDate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, load_json, record_batches

RESPONSE = "customerReviewResponses"


def page_reviews(page: Any) -> list[Any] | None:
    """The reviews of one API page, each with its developer response inline; None if not a page."""
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        return None
    responses = {str(x.get("id")): x for x in page.get("included") or []
                 if isinstance(x, dict) and x.get("type") == RESPONSE}
    reviews = []
    for review in page["data"]:
        if isinstance(review, dict) and "response" not in review:
            link = ((review.get("relationships") or {}).get("response") or {}).get("data") or {}
            if isinstance(link, dict) and str(link.get("id")) in responses:
                review = {**review, "response": responses[str(link["id"])]}
        reviews.append(review)
    return reviews


def _finish(review: dict[str, Any], row: dict[str, Any]) -> None:
    state = ((review.get("response") or {}).get("attributes") or {}).get("state")
    if state is not None and state != "PUBLISHED":
        row["reply_text"] = row["reply_at"] = None


FORMAT = RecordFormat(
    family="review",
    fields={"review_id": "id", "rating": "attributes.rating", "title": "attributes.title",
            "body": "attributes.body", "author": "attributes.reviewerNickname",
            "created_at": "attributes.createdDate", "location": "attributes.territory",
            "reply_text": "response.attributes.responseBody", "reply_at": "response.attributes.lastModifiedDate"},
    text_roles=frozenset({"title", "body", "author", "reply_text"}),
    keys=("type", "id", "attributes"),
    optional_keys=("relationships", "links", "response"),
    finish=_finish,
    unwrap=page_reviews,
    list_keys=("data",),
)

FILE_FORMAT = replace(FORMAT, unwrap=None)  # files are unwrapped page by page with running numbers


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one App Store Connect reviews file (see the module docstring)."""
    data = load_json(path)
    if isinstance(data, dict) and page_reviews(data) is None:
        raise SourceError(f"{path}: expected a customerReviews page with a 'data' list, or a JSON array")
    pages = [] if data is None else [data] if isinstance(data, dict) else data
    reviews: list[Any] = []
    for page in pages:
        unwrapped = page_reviews(page)
        reviews += [page] if unwrapped is None else unwrapped
    return record_batches(enumerate(reviews, start=1), path, source, tz, FILE_FORMAT, drift)

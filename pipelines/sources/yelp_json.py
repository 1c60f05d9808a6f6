"""Yelp Fusion reviews (`yelp_json`): `GET /v3/businesses/{id}/reviews` responses.

Variants read: one response `{"reviews": [...], "total", "possible_languages"}`, or a JSON array
of review objects. A review: `id`, `url`, `text` (an excerpt of at most ~160 characters),
`rating` (a float), `time_created` (`2026-04-18 19:32:11`: Pacific time with no offset), `user
{id, profile_url, image_url, name}`.

Roles: `review_id: id`, `url`, `body: text`, `rating`, `author: user.name`, `created_at:
time_created` read in America/Los_Angeles (`options.timezone` overrides), so 19:32 in April is
02:32 UTC the next day. `options.location` names the business the file is about.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, json_items, record_batches

FORMAT = RecordFormat(
    family="review",
    fields={"review_id": "id", "url": "url", "body": "text", "rating": "rating", "author": "user.name",
            "created_at": "time_created"},
    text_roles=frozenset({"body", "author"}),
    keys=("id", "url", "text", "rating", "time_created", "user"),
    timezone="America/Los_Angeles",
    list_keys=("reviews",),
)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Yelp reviews file (see the module docstring)."""
    location = source.options.get("location")
    for batch in record_batches(enumerate(json_items(path, FORMAT.list_keys), start=1), path, source, tz, FORMAT,
                                drift):
        if location and "location" not in source.fields:
            batch["location"] = batch["location"].fillna(str(location))
        yield batch

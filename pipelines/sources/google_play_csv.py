"""Google Play monthly reviews export (`google_play_csv`): `reviews_<package>_<YYYYMM>.csv`, streamed.

Variants read:
- UTF-16 with a byte-order mark (as the Play Console writes it); UTF-8 copies re-saved by a
  spreadsheet (`options.encoding`);
- older exports whose columns have other names (`Review URL` for `Review Link`): the old names
  are found and the rename is logged as drift;
- reviews without text (a star rating only) load with an empty body.

Roles: `created_at` from `Review Submit Millis Since Epoch` (else the date-and-time column),
`updated_at` from `Review Last Update …`, `rating: Star Rating`, `title`, `body`, `language:
Reviewer Language`, `product: Package Name` (the app: a version or a device model is not a product,
and a device is not a location, so neither feeds those segments), `reply_text` / `reply_at` from
the developer reply columns, `url: Review Link`. The export has no review id column: the id
is the `reviewId` in the review link, else a hash of package, device and submit time (stable when
the review is edited, so an edit replaces its earlier version).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import TS, Drift, compare_columns, synthetic_id, to_utc
from pipelines.sources.tabular import Row, batched, find_columns, header_lookup, open_csv, rows_frame

FAMILY = "review"
EXPECTED_COLUMNS = [
    "Package Name", "App Version Code", "App Version Name", "Reviewer Language", "Device",
    "Review Submit Date and Time", "Review Submit Millis Since Epoch", "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch", "Star Rating", "Review Title", "Review Text",
    "Developer Reply Date and Time", "Developer Reply Millis Since Epoch", "Developer Reply Text", "Review Link",
]
OLD_NAMES = {"Review URL": "Review Link"}
DEFAULT_FIELDS: dict[str, str | tuple[str, ...]] = {
    "created_at": "Review Submit Date and Time",
    "updated_at": "Review Last Update Date and Time",
    "rating": "Star Rating",
    "title": "Review Title",
    "body": "Review Text",
    "language": "Reviewer Language",
    "product": "Package Name",
    "reply_text": "Developer Reply Text",
    "reply_at": "Developer Reply Date and Time",
    "url": ("Review Link", "Review URL"),
}
MILLIS = {"created_at": "Review Submit Millis Since Epoch", "updated_at": "Review Last Update Millis Since Epoch",
          "reply_at": "Developer Reply Millis Since Epoch"}
REQUIRED = ("created_at", "rating")
REVIEW_ID = re.compile(r"[?&]reviewId=([^&#]+)")


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical review batches from one Google Play reviews export (see the module docstring)."""
    with open_csv(path, source.options, encoding="utf-16") as rows:
        first = rows.next()
        names = [n.strip() for n in first[1]] if first else []
        if not any(names):
            return
        if drift is not None:
            drift += compare_columns(EXPECTED_COLUMNS, names, OLD_NAMES)
        lookup = header_lookup(names)
        columns = find_columns(path, lookup, DEFAULT_FIELDS, source.fields, REQUIRED, len(names))
        extra = {key: lookup.get(column) for key, column in {**MILLIS, "package": "Package Name"}.items()}
        for chunk in batched(rows):
            yield _frame(chunk, names, columns, extra, path, source, ZoneInfo("UTC"))


def _frame(rows: list[Row], names: list[str], columns: dict[str, int], extra: dict[str, int | None], path: Path,
           source: SourceConfig, zone: ZoneInfo) -> pd.DataFrame:
    df = rows_frame(rows, names, columns, path, FAMILY, zone, source.options.get("date_format"), scores=False)

    def cell(key: str) -> list[str]:
        i = extra[key]
        return [cells[i].strip() if i is not None and i < len(cells) else "" for _, cells in rows]

    for role in MILLIS:
        if role in columns and extra[role] is not None:
            millis = to_utc(pd.Series(cell(role), dtype="object").replace("", None), fmt="unix_ms")
            df[role] = millis.where(millis.notna(), df[role]).astype(TS)
    if "review_id" not in source.fields:
        links = df["url"] if "url" in columns else pd.Series([None] * len(df))
        package, device = cell("package"), df["location"]
        ids = []
        for link, pkg, dev, at in zip(links, package, device, df["created_at"], strict=True):
            match = REVIEW_ID.search(link) if isinstance(link, str) else None
            ids.append(match.group(1) if match else None if pd.isna(at) else synthetic_id(
                source.name, f"{pkg} {'' if pd.isna(dev) else dev}", at.isoformat()))
        df["review_id"] = pd.array(ids, dtype="string")
    return df

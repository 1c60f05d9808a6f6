"""X (Twitter) API v2 posts, one JSON object per line: bare posts or search-wrapped pages.

A search response line `{"data": [...], "includes": ..., "meta": ...}` yields one row per post,
all with that line's number. Ids stay strings (never parsed as numbers). A line that is not
valid JSON becomes a row with `_parse_error` set, so it is quarantined and the rest still loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import BATCH_ROWS, conform, json_records_frame

DEFAULTS = {
    "mention_id": "id",
    "created_at": "created_at",
    "author": "author_id",
    "text": "text",
    "language": "lang",
    "likes": "public_metrics.like_count",
    "shares": "public_metrics.retweet_count",
    "replies": "public_metrics.reply_count",
}
RAW_LIMIT = 10_000


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Yield canonical mention batches, streaming the file line by line."""
    mapping = {**DEFAULTS, **source.fields}
    records: list[tuple[int, dict]] = []
    broken: list[tuple[int, str, str]] = []
    with path.open(encoding=source.options.get("encoding", "utf-8"), errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                broken.append((number, line.rstrip("\r\n")[:RAW_LIMIT], f"invalid JSON: {exc.msg} at col {exc.colno}"))
                continue
            posts = obj["data"] if isinstance(obj, dict) and isinstance(obj.get("data"), list) else [obj]
            records.extend((number, post) for post in posts if isinstance(post, dict))
            if len(records) + len(broken) >= BATCH_ROWS:
                yield _batch(records, broken, mapping, source, path)
                records, broken = [], []
    if records or broken:
        yield _batch(records, broken, mapping, source, path)


def _batch(records, broken, mapping, source: SourceConfig, path: Path) -> pd.DataFrame:
    good = json_records_frame(records, mapping, "mention", path, text_roles=("text",))
    if "in_reply_to" not in source.fields:
        good["in_reply_to"] = pd.array([_replied_to(post) for _, post in records], dtype="string")
    if "url" not in source.fields:
        good["url"] = ("https://x.com/i/web/status/" + good["mention_id"]).astype("string")
    if not broken:
        return good
    bad = conform(pd.DataFrame({
        "_file": str(path),
        "_line": [n for n, _, _ in broken],
        "_raw": [raw for _, raw, _ in broken],
        "_parse_error": [why for _, _, why in broken],
    }), "mention")
    return pd.concat([good, bad], ignore_index=True).sort_values("_line", kind="stable", ignore_index=True)


def _replied_to(post: dict) -> str | None:
    """The post this one replies to: the `replied_to` reference, else the replied-to user."""
    for ref in post.get("referenced_tweets") or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to":
            return str(ref.get("id"))
    user = post.get("in_reply_to_user_id")
    return None if user is None else str(user)

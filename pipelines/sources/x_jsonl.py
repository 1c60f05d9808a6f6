"""X (Twitter) API v2 posts (`x_jsonl`): one JSON object per line, streamed.

Variants read, line by line (they may be mixed in one file):
- a bare post `{"id", "text", "created_at", "author_id", "lang", "public_metrics", ...}`;
- a search response page `{"data": [post, ...], "includes": ..., "meta": ...}`: one row per post,
  every row with that line's number (a page with no `data` adds no rows);
- a lookup response `{"data": post}`.

Roles, overridable by the source's `fields` (dotted paths, `[key=value]` picks a list element):

    mention_id  id (a string; never parsed as a number)   text      text (HTML-unescaped)
    created_at  created_at                                author    author_id
    language    lang                                      likes     public_metrics.like_count
    shares      public_metrics.retweet_count              replies   public_metrics.reply_count
    in_reply_to in_reply_to_user_id, else referenced_tweets[type=replied_to].id
    url         https://x.com/i/web/status/<id>

Blank lines are skipped. A line that is not valid JSON becomes a row with `_parse_error` set and
`_raw` holding the line itself (cut to 10,000 characters), so it is quarantined and the rest of
the file still loads; so does a line that is not an object, and a post whose id lost its digits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, compile_path, dig, jsonl_items, record_batches

REPLIED_TO = compile_path("referenced_tweets[type=replied_to].id")
REPLY_USER = compile_path("in_reply_to_user_id")
POST_URL = "https://x.com/i/web/status/{id}"


def _unwrap(obj: Any) -> list[Any] | None:
    """The posts of a search or lookup response line; None for a bare post."""
    if isinstance(obj, dict) and "id" not in obj and ("data" in obj or "meta" in obj):
        data = obj.get("data")
        return data if isinstance(data, list) else [] if data is None else [data]
    return None


def _finish(post: dict[str, Any], row: dict[str, Any]) -> None:
    if "in_reply_to" not in row:
        reply_to = dig(post, REPLY_USER)
        reply_to = dig(post, REPLIED_TO) if reply_to is None else reply_to
        row["in_reply_to"] = None if reply_to is None else str(reply_to)
    if "url" not in row and row.get("mention_id") is not None:
        row["url"] = POST_URL.format(id=row["mention_id"])


FORMAT = RecordFormat(
    family="mention",
    fields={
        "mention_id": "id",
        "text": "text",
        "created_at": "created_at",
        "author": "author_id",
        "language": "lang",
        "likes": "public_metrics.like_count",
        "shares": "public_metrics.retweet_count",
        "replies": "public_metrics.reply_count",
    },
    text_roles=frozenset({"text", "author"}),
    keys=("id", "text", "created_at", "author_id"),
    optional_keys=("lang", "conversation_id", "in_reply_to_user_id", "referenced_tweets", "public_metrics",
                   "entities", "edit_history_tweet_ids", "attachments", "context_annotations", "geo",
                   "possibly_sensitive", "reply_settings", "source", "withheld", "note_tweet", "edit_controls"),
    finish=_finish,
    unwrap=_unwrap,
    list_keys=("data",),
)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical mention batches from one X JSONL file (see the module docstring)."""
    return record_batches(jsonl_items(path), path, source, tz, FORMAT, drift)

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

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import BATCH_ROWS
from pipelines.sources.records import Step, compile_path, dig, record_row, records_frame

FAMILY = "mention"
DEFAULT_FIELDS: dict[str, str] = {
    "mention_id": "id",
    "text": "text",
    "created_at": "created_at",
    "author": "author_id",
    "language": "lang",
    "likes": "public_metrics.like_count",
    "shares": "public_metrics.retweet_count",
    "replies": "public_metrics.reply_count",
}
REPLIED_TO = compile_path("referenced_tweets[type=replied_to].id")
REPLY_USER = compile_path("in_reply_to_user_id")
POST_URL = "https://x.com/i/web/status/{id}"
TEXT_ROLES = frozenset({"text", "author"})
RAW_LIMIT = 10_000


def read(path: Path, source: SourceConfig, tz: ZoneInfo) -> Iterator[pd.DataFrame]:
    """Canonical mention batches from one X JSONL file (see the module docstring)."""
    paths = {role: compile_path(p) for role, p in {**DEFAULT_FIELDS, **source.fields}.items()}
    batch: list[dict[str, Any]] = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r\n")
            if not text.strip():
                continue
            for row in _rows(text, number, paths):
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    yield records_frame(batch, path, FAMILY)
                    batch = []
    if batch:
        yield records_frame(batch, path, FAMILY)


def _rows(text: str, number: int, paths: dict[str, list[Step]]) -> Iterator[dict[str, Any]]:
    """The rows of one line: a parse-error row, one post, or every post of a search page."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        yield {"_line": number, "_raw": text[:RAW_LIMIT], "_parse_error": f"invalid JSON: {exc.msg} at col {exc.colno}"}
        return
    if isinstance(obj, dict) and "id" not in obj and ("data" in obj or "meta" in obj):
        data = obj.get("data")
        posts = data if isinstance(data, list) else [] if data is None else [data]
    else:
        posts = [obj]
    for post in posts:
        row = record_row(post, number, paths, FAMILY, TEXT_ROLES)
        if isinstance(post, dict) and "in_reply_to" not in paths:
            reply_to = dig(post, REPLY_USER)
            reply_to = dig(post, REPLIED_TO) if reply_to is None else reply_to
            row["in_reply_to"] = None if reply_to is None else str(reply_to)
        if "url" not in paths and row.get("mention_id") is not None:
            row["url"] = POST_URL.format(id=row["mention_id"])
        yield row

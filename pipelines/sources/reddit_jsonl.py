"""Reddit comments and posts (`reddit_jsonl`): one `{"kind", "data"}` thing per line, streamed.

Variants read, line by line: a comment (`kind: "t1"`, `body`), a post (`"t3"`, `title` +
`selftext`), and a `Listing` page (`{"kind": "Listing", "data": {"children": [...]}}`) whose
children are expanded. `data`: `id`, `name` (`t1_…`, the fullname, unique across kinds),
`author`, `created_utc` (unix seconds, a float), `score`, `subreddit`, `permalink`, `link_id`,
`parent_id`, `num_comments` (posts).

Roles: `mention_id: name`, `text` (the body, or the title and the self text), `created_at`,
`author` (none for `[deleted]`), `likes: score`, `replies: num_comments`, `in_reply_to:
parent_id`, `url`: https://www.reddit.com + permalink. Text is HTML-unescaped (`&gt;` → `>`).
A body or self text `[removed]` or `[deleted]` is not the author's words: the text is dropped,
and a comment left without any text gets a `_parse_error` saying it was removed, so it is
quarantined with that reason.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import RecordFormat, jsonl_items, record_batches

GONE = ("[removed]", "[deleted]")
SITE = "https://www.reddit.com"


def _unwrap(thing: Any) -> list[Any] | None:
    """A Listing's children; None for a single comment or post."""
    if isinstance(thing, dict) and thing.get("kind") == "Listing":
        return list((thing.get("data") or {}).get("children") or [])
    return None


def _finish(thing: dict[str, Any], row: dict[str, Any]) -> None:
    data = thing.get("data") if isinstance(thing.get("data"), dict) else {}
    if "text" not in row or row.get("text") is None:
        parts = [data.get("title"), data.get("body"), data.get("selftext")]
        kept = [html.unescape(p.strip()) for p in parts if isinstance(p, str) and p.strip() and p.strip() not in GONE]
        row["text"] = "\n\n".join(kept) or None
        if row["text"] is None and any(p in GONE for p in parts):
            row["_parse_error"] = row["_parse_error"] or f"{thing.get('kind')} {data.get('name')}: text was removed"
    if row.get("author") in GONE:
        row["author"] = None
    if row.get("url") is None and data.get("permalink"):
        row["url"] = SITE + str(data["permalink"])


FORMAT = RecordFormat(
    family="mention",
    fields={"mention_id": "data.name", "created_at": "data.created_utc", "author": "data.author",
            "likes": "data.score", "replies": "data.num_comments", "in_reply_to": "data.parent_id"},
    text_roles=frozenset({"text", "author"}),
    keys=("kind", "data"),
    date_format="unix",
    finish=_finish,
    unwrap=_unwrap,
)


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical mention batches from one Reddit JSONL file (see the module docstring)."""
    return record_batches(jsonl_items(path), path, source, tz, FORMAT, drift)

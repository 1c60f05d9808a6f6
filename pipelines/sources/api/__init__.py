"""HTTP API sources: a time window of a vendor's paged API as canonical batches.

`pull` fetches every page of the window before anything is loaded (the load is then one
transaction, so a pull that fails or runs out of budget leaves nothing behind) and maps each page
to canonical records through the source's format:

- a format module may define `read_page(page, source, tz) -> Iterator[DataFrame]` (`page` is a
  `paging.Page`) to map vendor records directly;
- otherwise pages go through the format's file parser, written in the vendor's own response shape
  (`json` layout: the pages' items in one body) or as one item per line (`jsonl` layout), so any
  format that reads the vendor's API shape from files reads it from the API too.

Rows carry the page URL in `_file` and the item's position in the page in `_line`. Rows created at
or after the window's end are left for a later pull; rows wholly older than its start (created and
last updated) are dropped, and paging stops at the first page whose items are all older than the
start (by the vendor's own timestamps, `Paging.item_time`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import import_module
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources import FORMATS, get_parser
from pipelines.sources.api.client import ApiClient, Budget
from pipelines.sources.api.paging import PAGING, Page, Paging, Request, Window
from pipelines.sources.base import TIME_COLUMN

CLOCK_MARGIN = timedelta(seconds=10)
CHUNK_ITEMS = 5_000


@dataclass
class Pull:
    """What a pull fetched: page URLs, canonical batches, and the cursor to store once they are loaded."""

    pages: list[str] = field(default_factory=list)
    batches: list[pd.DataFrame] = field(default_factory=list)
    cursor_at: datetime | None = None


def window_for(
    source: SourceConfig, day_start: datetime, day_end: datetime, cursor: datetime | None
) -> Window:
    """The window of a pull for the business day [day_start, day_end).

    Incremental sources start at the earlier of the stored cursor and the day's start, less the
    overlap (late edits and late-indexed items); without a cursor, at the day's start less the
    overlap. A source with `incremental: false` pulls everything before the day's end.
    """
    if source.overlap is None:
        return Window(None, day_end)
    start = min(cursor, day_start) if cursor is not None else day_start
    return Window(start - source.overlap, day_end)


def api_url(source: SourceConfig) -> tuple[str, dict[str, object]]:
    """The source URL with `{name}` placeholders filled from `params`, and the remaining query params."""
    names = set(source.placeholders)
    url = str(source.url).format(**{k: v for k, v in source.params.items() if k in names})
    return url, {k: v for k, v in source.params.items() if k not in names}


def pull(source: SourceConfig, window: Window, tz: ZoneInfo, now: datetime | None = None) -> Pull:
    """Every page of `window` as canonical batches (see the module docstring); SourceError on failure."""
    paging = PAGING[source.format]
    url, params = api_url(source)
    page_size = source.page_size or paging.default_page_size
    # never ask for the future: X rejects an end_time less than 10 s old, and vendors index late
    window = Window(window.since, min(window.until, (now or datetime.now(UTC)) - CLOCK_MARGIN))
    fetched: list[Page] = []
    with ApiClient(source.name, url, source.auth, Budget(source.budget_seconds),
                   timeout_seconds=source.timeout_seconds) as client:
        for page in pages(client, paging, paging.first(url, window, page_size, params)):
            fetched.append(page)
            times = [t for t in map(paging.item_time, page.items) if t is not None]
            if window.since is not None and times and max(times) < window.since:
                break  # newest first: every later page is older still
    out = Pull(pages=[p.url for p in fetched], cursor_at=window.until if source.overlap is not None else None)
    for frame in map_pages(fetched, source, tz, paging):
        kept = _in_window(frame, source.family, window)
        if len(kept):
            out.batches.append(kept)
    return out


def pages(client: ApiClient, paging: Paging, request: Request | None) -> Iterator[Page]:
    """The pages from `request` on, following the vendor's next-page cursor until there is none."""
    seen: set[tuple[str, str]] = set()
    while request is not None:
        key = (request.url, json.dumps(request.params, sort_keys=True, default=str))
        if key in seen:
            raise SourceError(f"{client.source}: the API returned the same next page twice ({request.url}); "
                              "stopping instead of looping")
        seen.add(key)
        shown, body = client.get_json(request.url, request.params)
        try:
            page = Page(len(seen), shown, body, paging.items(body))
        except ValueError as exc:
            raise SourceError(f"{client.source}: GET {shown}: unexpected response: {exc}") from None
        yield page
        request = paging.next(page, request)


def map_pages(fetched: list[Page], source: SourceConfig, tz: ZoneInfo, paging: Paging) -> Iterator[pd.DataFrame]:
    """Canonical batches of the pages, through the format's `read_page` (per page) or its file parser.

    The file parser reads up to CHUNK_ITEMS items at once (its fixed cost per call would otherwise
    dominate pages of 100); each row then gets back its page URL and position in the page.
    """
    module = import_module(f"pipelines.sources.{FORMATS[source.format].partition(':')[0]}")
    read_page = getattr(module, "read_page", None)
    if read_page is not None:
        for page in fetched:
            yield from read_page(page, source, tz)
        return
    chunk: list[Page] = []
    for page in fetched:
        if chunk and sum(len(p.items) for p in chunk) + len(page.items) > CHUNK_ITEMS:
            yield from _parse_chunk(chunk, source, tz, paging)
            chunk = []
        chunk.append(page)
    if chunk:
        yield from _parse_chunk(chunk, source, tz, paging)


def _parse_chunk(chunk: list[Page], source: SourceConfig, tz: ZoneInfo, paging: Paging) -> Iterator[pd.DataFrame]:
    """Pages written as one file in the vendor's shape, parsed, and each row traced to its page."""
    urls = np.array([p.url for p in chunk for _ in p.items], dtype=object)
    positions = np.array([i for p in chunk for i in range(1, len(p.items) + 1)], dtype="int64")
    if paging.layout == "jsonl":
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for p in chunk for item in p.items)
    else:
        text = json.dumps(paging.combine([p.body for p in chunk]), ensure_ascii=False)
    label = chunk[0].url if len(chunk) == 1 else f"{chunk[0].url} … {chunk[-1].url}"
    with tempfile.TemporaryDirectory(prefix="cx-pages-") as tmp:
        path = Path(tmp) / f"pages.{paging.layout}"
        path.write_text(text, encoding="utf-8")
        try:
            for batch in get_parser(source.format)(path, source, tz):
                index = batch["_line"].astype("int64").to_numpy() - 1
                if len(index) and (index.min() < 0 or index.max() >= len(urls)):
                    raise SourceError(f"{path}: the parser numbered records beyond the {len(urls)} items fetched")
                batch["_file"] = pd.array(urls[index], dtype="string")
                batch["_line"] = pd.array(positions[index], dtype="Int64")
                yield batch
        except SourceError as exc:  # name the pages, not the scratch file
            raise SourceError(f"{source.name}: {str(exc).replace(str(path), label)}") from None


def _versions(frame: pd.DataFrame, family: str) -> pd.Series:
    """Each row's latest known time: created, or updated when later (reviews are edited)."""
    created = frame[TIME_COLUMN[family]]
    if "updated_at" in frame.columns:
        return pd.concat([created, frame["updated_at"]], axis=1).max(axis=1)
    return created


def _in_window(frame: pd.DataFrame, family: str, window: Window) -> pd.DataFrame:
    """Rows of the window; rows without a readable time stay, so validation quarantines them."""
    created = frame[TIME_COLUMN[family]]
    keep = created.isna() | (created < pd.Timestamp(window.until))
    if window.since is not None:
        keep &= created.isna() | (_versions(frame, family) >= pd.Timestamp(window.since))
    return frame.loc[keep].reset_index(drop=True)


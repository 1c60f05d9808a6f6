"""How each vendor's API pages, keyed by format name (FORMATS.md; the public APIs where it is silent).

A `Paging` builds the first request of a time window, finds the items of a page and the request
for the next page. Every vendor is asked for newest items first, so a pull can stop at the first
page older than the window (see `pipelines.sources.api.pull`).

    format                 next page                         window sent to the server
    trustpilot_json        links[rel=next-page].href         startDateTime / endDateTime
    x_jsonl                meta.next_token → next_token      start_time / end_time
    reddit_jsonl           data.after → after                (none: stops on created_utc)
    typeform_json          last item's token → before        since / until
    yelp_json              offset += len(reviews) < total    (none)
    google_business_json   nextPageToken → pageToken         (none: ordered by updateTime desc)
    app_store_json         links.next                        (none: sort=-createdDate)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """Items created or updated in [since, until); `since` None pulls everything before `until`."""

    since: datetime | None
    until: datetime


@dataclass(frozen=True)
class Request:
    url: str
    params: dict[str, Any]


@dataclass
class Page:
    """One fetched page: the URL requested (its lineage name), the decoded body, its items."""

    number: int
    url: str
    body: Any
    items: list[Any]


def _iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, the form every one of these APIs accepts."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _time(value: Any, zone: ZoneInfo | None = None) -> datetime | None:
    """A vendor timestamp (ISO 8601 text or unix seconds) as an aware datetime; None if unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone or UTC)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class Paging:
    """The contract; subclasses set the page-size limits, the items key and the cursor moves."""

    max_page_size: int = 100
    default_page_size: int = 100
    layout: str = "json"  # how a page is written for the format's file parser: json (the body) | jsonl (items)
    items_path: tuple[str, ...] = ("reviews",)
    time_path: tuple[str, ...] = ("createdAt",)

    def first(self, url: str, window: Window, page_size: int, params: dict[str, Any]) -> Request:
        return Request(url, {**self.window_params(window), **self.size_params(page_size), **params})

    def window_params(self, window: Window) -> dict[str, Any]:
        return {}

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {}

    def items(self, body: Any) -> list[Any]:
        """The page's items; absent means none (Google omits empty lists), any other shape is an error."""
        found = _get(body, *self.items_path)
        if found is None or isinstance(found, list):
            return found or []
        raise ValueError(f"'{'.'.join(self.items_path)}' is a {type(found).__name__}, not a list of items")

    def item_time(self, item: Any) -> datetime | None:
        """The item's latest time (created, or edited when the vendor says), to stop paging early."""
        return _time(_get(item, *self.time_path))

    def combine(self, bodies: list[Any]) -> Any:
        """One body holding the items of several pages, shaped like the first (json layout)."""
        merged = copy.copy(bodies[0]) if isinstance(bodies[0], dict) else {}
        node = merged
        for key in self.items_path[:-1]:
            child = dict(node.get(key) or {})
            node[key] = child
            node = child
        node[self.items_path[-1]] = [item for body in bodies for item in self.items(body)]
        return merged

    def next(self, page: Page, request: Request) -> Request | None:
        raise NotImplementedError


class TrustpilotPaging(Paging):
    """`page`/`perPage` with a `links` array; the `next-page` link is followed as given."""

    def item_time(self, item: Any) -> datetime | None:
        times = [t for t in (_time(_get(item, "createdAt")), _time(_get(item, "updatedAt"))) if t]
        return max(times) if times else None

    def window_params(self, window: Window) -> dict[str, Any]:
        out = {"endDateTime": _iso(window.until), "orderBy": "createdat.desc"}
        return {**out, "startDateTime": _iso(window.since)} if window.since else out

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"perPage": page_size, "page": 1}

    def next(self, page: Page, request: Request) -> Request | None:
        for link in _list(_get(page.body, "links")):
            if isinstance(link, dict) and link.get("rel") in ("next-page", "next") and link.get("href"):
                return Request(urljoin(page.url, str(link["href"])), {})
        return None


class XPaging(Paging):
    """X API v2 search: `max_results` 10–100, `meta.next_token` sent back as `next_token`."""

    items_path = ("data",)
    time_path = ("created_at",)

    layout = "jsonl"
    TWEET_FIELDS = ("created_at,author_id,lang,conversation_id,in_reply_to_user_id,referenced_tweets,"
                    "public_metrics,entities,edit_history_tweet_ids")

    def window_params(self, window: Window) -> dict[str, Any]:
        out = {"end_time": _iso(window.until), "tweet.fields": self.TWEET_FIELDS}
        return {**out, "start_time": _iso(window.since)} if window.since else out

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"max_results": max(10, page_size)}

    def next(self, page: Page, request: Request) -> Request | None:
        token = _get(page.body, "meta", "next_token")
        return Request(request.url, {**request.params, "next_token": token}) if token else None


class RedditPaging(Paging):
    """A Listing `{kind: Listing, data: {children, after}}`; `after` is the next page's cursor."""

    items_path = ("data", "children")
    time_path = ("data", "created_utc")

    layout = "jsonl"

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"limit": page_size, "raw_json": 1}

    def next(self, page: Page, request: Request) -> Request | None:
        after = _get(page.body, "data", "after")
        return Request(request.url, {**request.params, "after": after}) if after and page.items else None


class TypeformPaging(Paging):
    """Responses API: `page_size` ≤ 1000, newest first; `before` = the last item's token."""

    items_path = ("items",)
    time_path = ("submitted_at",)

    max_page_size = 1000
    default_page_size = 1000

    def window_params(self, window: Window) -> dict[str, Any]:
        out = {"until": _iso(window.until)}
        return {**out, "since": _iso(window.since)} if window.since else out

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"page_size": page_size}

    def next(self, page: Page, request: Request) -> Request | None:
        more = (_get(page.body, "page_count") or 0) > 1
        token = _get(page.items[-1], "token") if page.items else None
        return Request(request.url, {**request.params, "before": token}) if more and token else None


class YelpPaging(Paging):
    """Fusion reviews: `limit` ≤ 50 and `offset`, until `total` is reached."""

    time_path = ("time_created",)
    ZONE = ZoneInfo("America/Los_Angeles")  # Fusion's time_created is Pacific time without an offset

    def item_time(self, item: Any) -> datetime | None:
        return _time(_get(item, *self.time_path), self.ZONE)

    max_page_size = 50
    default_page_size = 50

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"limit": page_size, "offset": 0, "sort_by": "newest"}

    def next(self, page: Page, request: Request) -> Request | None:
        offset = int(request.params.get("offset", 0)) + len(page.items)
        total = _get(page.body, "total")
        if not page.items or not isinstance(total, int) or offset >= total:
            return None
        return Request(request.url, {**request.params, "offset": offset})


class GoogleBusinessPaging(Paging):
    """Business Profile reviews: `pageSize` ≤ 50, `nextPageToken` → `pageToken`."""

    time_path = ("updateTime",)

    max_page_size = 50
    default_page_size = 50

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"pageSize": page_size, "orderBy": "updateTime desc"}

    def next(self, page: Page, request: Request) -> Request | None:
        token = _get(page.body, "nextPageToken")
        return Request(request.url, {**request.params, "pageToken": token}) if token else None


class AppStorePaging(Paging):
    """App Store Connect `customerReviews`: `limit` ≤ 200, `links.next` is the next page's URL."""

    items_path = ("data",)
    time_path = ("attributes", "createdDate")

    def combine(self, bodies: list[Any]) -> Any:
        merged = super().combine(bodies)
        included = [x for body in bodies for x in _list(_get(body, "included"))]
        return {**merged, "included": included} if included else merged

    max_page_size = 200
    default_page_size = 200

    def size_params(self, page_size: int) -> dict[str, Any]:
        return {"limit": page_size, "sort": "-createdDate"}

    def next(self, page: Page, request: Request) -> Request | None:
        href = _get(page.body, "links", "next")
        return Request(urljoin(page.url, str(href)), {}) if href and page.items else None


PAGING: dict[str, Paging] = {
    "trustpilot_json": TrustpilotPaging(),
    "x_jsonl": XPaging(),
    "reddit_jsonl": RedditPaging(),
    "typeform_json": TypeformPaging(),
    "yelp_json": YelpPaging(),
    "google_business_json": GoogleBusinessPaging(),
    "app_store_json": AppStorePaging(),
}

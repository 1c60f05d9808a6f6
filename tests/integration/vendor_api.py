"""Vendor APIs on a real loopback HTTP server: their paging as the vendors document it, and their faults.

Each vendor handler serves `items` (vendor records, newest first) the way that vendor pages them.
`Faulty` wraps a handler and injects, on chosen request numbers, what real APIs do: 429 with a
`Retry-After`, 5xx, a response slower than the client's timeout, and a body cut mid-JSON.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import urlencode

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

Handler = Callable[[Request], Response]


def ok(body: object) -> Response:
    return Response(json.dumps(body), status=200, content_type="application/json")


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _token(n: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{n}".encode()).decode()


def _offset(token: str | None) -> int:
    return int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1]) if token else 0


class Faulty:
    """A handler that answers request number n (1-based) with `faults[n]` instead of the real page.

    Faults: ("429", retry_after or None), ("500",), ("503",), ("timeout", seconds), ("truncated",),
    ("status", code, body). Every request is recorded in `requests` (its args and headers).
    """

    def __init__(self, handler: Handler, faults: dict[int, tuple] | None = None) -> None:
        self.handler = handler
        self.faults = faults or {}
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        fault = self.faults.get(len(self.requests))
        if fault is None:
            return self.handler(request)
        kind = fault[0]
        if kind == "429":
            headers = {"Retry-After": fault[1]} if fault[1] is not None else {}
            return Response('{"message": "Too Many Requests"}', status=429, headers=headers)
        if kind in ("500", "503"):
            return Response("upstream error", status=int(kind))
        if kind == "timeout":
            time.sleep(fault[1])
            return self.handler(request)
        if kind == "truncated":
            full = self.handler(request).get_data(as_text=True)
            return Response(full[: len(full) // 2], status=200, content_type="application/json")
        if kind == "status":
            return Response(fault[2], status=fault[1])
        raise ValueError(kind)


@contextmanager
def loopback_server() -> Iterator[HTTPServer]:
    """A threaded HTTP server on 127.0.0.1 (a slow response must not hold up the retry behind it)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def serve(server: HTTPServer, path: str, handler: Handler, faults: dict[int, tuple] | None = None) -> Faulty:
    """Route every GET of `path` to a Faulty wrapper of `handler`; returns the wrapper."""
    faulty = Faulty(handler, faults)
    server.expect_request(path, method="GET").respond_with_handler(faulty)
    return faulty


# -- vendors: items are newest first ------------------------------------------------------------


def trustpilot(items: list[dict], repeat: bool = False, filters: bool = True) -> Handler:
    """`page`/`perPage`, `startDateTime`/`endDateTime` on createdAt, a `links` array with next-page.

    Without `filters` the dates are ignored, as the public endpoint does. With `repeat`, every page
    after the first starts with the last review of the page before (a new review arrived between
    the two requests and pushed the list down by one).
    """

    def handle(request: Request) -> Response:
        start, end = _when(request.args.get("startDateTime")), _when(request.args.get("endDateTime"))
        if not filters:
            start = end = None
        chosen = [r for r in items if (not start or _when(r["createdAt"]) >= start)
                  and (not end or _when(r["createdAt"]) < end)]
        page, per = int(request.args.get("page", 1)), int(request.args.get("perPage", 20))
        lo = (page - 1) * per
        reviews = chosen[max(0, lo - 1) if repeat and page > 1 else lo: lo + per]
        links = []
        if lo + per < len(chosen):
            args = {**request.args.to_dict(), "page": page + 1}
            links.append({"href": f"{request.base_url}?{urlencode(args)}", "method": "GET", "rel": "next-page"})
        return ok({"reviews": reviews, "links": links, "totalNumberOfReviews": len(chosen)})

    return handle


def x_search(items: list[dict]) -> Handler:
    """X API v2 search: `start_time`/`end_time`, `max_results` 10–100, `meta.next_token`."""

    def handle(request: Request) -> Response:
        n = int(request.args.get("max_results", 10))
        if not 10 <= n <= 100:
            return Response('{"title": "Invalid Request"}', status=400)
        start, end = _when(request.args.get("start_time")), _when(request.args.get("end_time"))
        chosen = [p for p in items if (not start or _when(p["created_at"]) >= start)
                  and (not end or _when(p["created_at"]) < end)]
        lo = _offset(request.args.get("next_token"))
        data = chosen[lo: lo + n]
        meta: dict = {"result_count": len(data)}
        if data:
            meta |= {"newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        if lo + n < len(chosen):
            meta["next_token"] = _token(lo + n)
        body: dict = {"meta": meta}
        if data:
            body |= {"data": data, "includes": {"users": [{"id": p["author_id"]} for p in data]}}
        return ok(body)

    return handle


def reddit(items: list[dict]) -> Handler:
    """A Listing of `{kind, data}` children; `after` is the fullname of the last child."""

    def handle(request: Request) -> Response:
        limit = int(request.args.get("limit", 25))
        after = request.args.get("after")
        names = [c["data"]["name"] for c in items]
        lo = names.index(after) + 1 if after else 0
        children = items[lo: lo + limit]
        more = lo + limit < len(items)
        return ok({"kind": "Listing", "data": {"after": children[-1]["data"]["name"] if more else None,
                                              "before": None, "dist": len(children), "children": children}})

    return handle


def typeform(items: list[dict]) -> Handler:
    """Responses API: `since`/`until` on submitted_at, `before` a response token, `page_count`."""

    def handle(request: Request) -> Response:
        size = int(request.args.get("page_size", 25))
        since, until = _when(request.args.get("since")), _when(request.args.get("until"))
        chosen = [r for r in items if (not since or _when(r["submitted_at"]) >= since)
                  and (not until or _when(r["submitted_at"]) <= until)]
        before = request.args.get("before")
        if before:
            chosen = chosen[[r["token"] for r in chosen].index(before) + 1:]
        return ok({"total_items": len(chosen), "page_count": math.ceil(len(chosen) / size), "items": chosen[:size]})

    return handle


def yelp(items: list[dict], repeat: bool = False) -> Handler:
    """Fusion reviews: `limit`/`offset`, `total`; with `repeat` a new review shifts later pages by one."""

    def handle(request: Request) -> Response:
        limit, offset = int(request.args.get("limit", 20)), int(request.args.get("offset", 0))
        lo = max(0, offset - 1) if repeat and offset else offset
        return ok({"reviews": items[lo: lo + limit], "total": len(items), "possible_languages": ["en"]})

    return handle


def google_business(items: list[dict]) -> Handler:
    """Business Profile reviews: `pageSize`, `pageToken`, `nextPageToken` (absent on the last page)."""

    def handle(request: Request) -> Response:
        size = int(request.args.get("pageSize", 50))
        lo = _offset(request.args.get("pageToken"))
        body = {"reviews": items[lo: lo + size], "averageRating": 4.1, "totalReviewCount": len(items)}
        if lo + size < len(items):
            body["nextPageToken"] = _token(lo + size)
        return ok(body)

    return handle


def app_store(items: list[dict]) -> Handler:
    """App Store Connect customerReviews: `limit`, a `cursor` inside `links.next` (an absolute URL)."""

    def handle(request: Request) -> Response:
        limit = int(request.args.get("limit", 50))
        lo = _offset(request.args.get("cursor"))
        links = {"self": request.url}
        if lo + limit < len(items):
            args = {**request.args.to_dict(), "cursor": _token(lo + limit)}
            links["next"] = f"{request.base_url}?{urlencode(args)}"
        return ok({"data": items[lo: lo + limit], "links": links, "meta": {"paging": {"total": len(items)}}})

    return handle

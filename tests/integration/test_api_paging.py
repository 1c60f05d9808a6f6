"""Each vendor's paging against a loopback server that pages the way the vendor documents it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources import trustpilot_json
from pipelines.sources.api import pages, pull, window_for
from pipelines.sources.api.client import ApiClient, Budget
from pipelines.sources.api.paging import PAGING, Window
from tests.integration import vendor_api as v

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # the newest item; item i is i hours older
SINCE, UNTIL = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)


def at(i: int) -> datetime:
    return T0 - timedelta(hours=i)


def z(i: int) -> str:
    return at(i).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def review(i: int) -> dict:
    return {"id": f"tp{i}", "stars": 1 + i % 5, "title": f"Title {i}", "text": f"Review number {i}",
            "language": "en", "createdAt": z(i), "updatedAt": None,
            "consumer": {"id": f"c{i}", "displayName": f"Customer {i}"}, "businessUnit": {"id": "bu1"}}


def post(i: int) -> dict:
    return {"id": f"17900000000000{i:05d}", "text": f"@Acme post {i}", "created_at": z(i), "author_id": f"u{i}",
            "lang": "en", "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": i}}


def collect(server: HTTPServer, fmt: str, path: str, handler, page_size: int, window: Window,
            params: dict | None = None) -> tuple[list, v.Faulty]:
    """Every item the paging of `fmt` reaches, and the endpoint's record of requests."""
    endpoint = v.serve(server, path, handler)
    paging = PAGING[fmt]
    url = server.url_for(path)
    with ApiClient(fmt, url, {}, Budget(10)) as client:
        found = [i for p in pages(client, paging, paging.first(url, window, page_size, params or {})) for i in p.items]
    return found, endpoint


N = 7  # items per vendor: with page size 3 that is pages of 3, 3 and 1


def test_trustpilot_follows_next_page_links(server):
    items = [review(i) for i in range(N)]
    found, endpoint = collect(server, "trustpilot_json", "/v1/business-units/bu1/reviews", v.trustpilot(items), 3,
                              Window(SINCE, UNTIL))
    assert [r["id"] for r in found] == [f"tp{i}" for i in range(N)]
    assert [r.args["page"] for r in endpoint.requests] == ["1", "2", "3"]
    first = endpoint.requests[0].args
    assert (first["perPage"], first["startDateTime"], first["endDateTime"]) == \
        ("3", "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z")


def test_x_sends_next_token_back(server):
    items = [post(i) for i in range(25)]
    found, endpoint = collect(server, "x_jsonl", "/2/tweets/search/recent", v.x_search(items), 10,
                              Window(SINCE, UNTIL), {"query": "@Acme -is:retweet"})
    assert [p["id"] for p in found] == [p["id"] for p in items[:24]]  # post 24 (22:00 on the 9th) is before SINCE
    args = [r.args for r in endpoint.requests]
    assert [a.get("next_token") for a in args] == [None, v._token(10), v._token(20)]
    assert all(a["query"] == "@Acme -is:retweet" and "created_at" in a["tweet.fields"] for a in args)


def test_reddit_follows_the_after_cursor(server):
    items = [{"kind": "t1", "data": {"id": f"c{i}", "name": f"t1_c{i}", "author": f"user{i}", "body": f"comment {i}",
                                     "created_utc": at(i).timestamp(), "subreddit": "acme"}} for i in range(N)]
    found, endpoint = collect(server, "reddit_jsonl", "/r/acme/comments", v.reddit(items), 3, Window(None, UNTIL))
    assert [c["data"]["id"] for c in found] == [f"c{i}" for i in range(N)]
    assert [r.args.get("after") for r in endpoint.requests] == [None, "t1_c2", "t1_c5"]
    assert endpoint.requests[0].args["limit"] == "3"


def test_typeform_pages_with_before_tokens(server):
    items = [{"token": f"tok{i}", "landing_id": f"l{i}", "landed_at": z(i), "submitted_at": z(i), "answers": []}
             for i in range(N)]
    found, endpoint = collect(server, "typeform_json", "/forms/F1/responses", v.typeform(items), 3,
                              Window(SINCE, UNTIL))
    assert [r["token"] for r in found] == [f"tok{i}" for i in range(N)]
    assert [r.args.get("before") for r in endpoint.requests] == [None, "tok2", "tok5"]
    assert endpoint.requests[0].args["since"] == "2026-03-10T00:00:00Z"


def test_yelp_pages_by_offset_until_total(server):
    items = [{"id": f"y{i}", "rating": 4.0, "text": f"excerpt {i}", "time_created": "2026-03-10 10:00:00",
              "user": {"id": f"u{i}", "name": f"U {i}"}} for i in range(N)]
    found, endpoint = collect(server, "yelp_json", "/v3/businesses/acme/reviews", v.yelp(items), 3,
                              Window(SINCE, UNTIL))
    assert [r["id"] for r in found] == [f"y{i}" for i in range(N)]
    assert [r.args["offset"] for r in endpoint.requests] == ["0", "3", "6"]


def test_google_business_follows_next_page_token(server):
    items = [{"name": f"accounts/1/locations/2/reviews/g{i}", "reviewId": f"g{i}", "starRating": "FOUR",
              "comment": f"comment {i}", "createTime": z(i), "updateTime": z(i)} for i in range(N)]
    found, endpoint = collect(server, "google_business_json", "/v4/accounts/1/locations/2/reviews",
                              v.google_business(items), 3, Window(SINCE, UNTIL))
    assert [r["reviewId"] for r in found] == [f"g{i}" for i in range(N)]
    assert [r.args.get("pageToken") for r in endpoint.requests] == [None, v._token(3), v._token(6)]
    assert endpoint.requests[0].args["orderBy"] == "updateTime desc"


def test_app_store_follows_links_next(server):
    items = [{"type": "customerReviews", "id": f"a{i}", "attributes": {"rating": 4, "title": "t", "body": f"b{i}",
              "reviewerNickname": "n", "createdDate": "2026-03-10T02:00:00-08:00", "territory": "GBR"}}
             for i in range(N)]
    found, endpoint = collect(server, "app_store_json", "/v1/apps/42/customerReviews", v.app_store(items), 3,
                              Window(SINCE, UNTIL))
    assert [r["id"] for r in found] == [f"a{i}" for i in range(N)]
    assert [r.args.get("cursor") for r in endpoint.requests] == [None, v._token(3), v._token(6)]
    assert endpoint.requests[0].args["sort"] == "-createdDate"


def test_a_cursor_that_repeats_stops_with_an_error(server):
    v.serve(server, "/2/tweets/search/recent", lambda r: v.ok({"data": [post(1)], "meta": {"next_token": "same"}}))
    paging, url = PAGING["x_jsonl"], server.url_for("/2/tweets/search/recent")
    with ApiClient("x", url, {}, Budget(10)) as client, pytest.raises(SourceError, match="same next page twice"):
        list(pages(client, paging, paging.first(url, Window(None, UNTIL), 10, {})))


def test_a_next_link_to_another_host_is_refused(server):
    bad = {"reviews": [review(0)], "links": [{"rel": "next-page", "href": "http://203.0.113.9/reviews?page=2"}]}
    v.serve(server, "/reviews", lambda r: v.ok(bad))
    paging, url = PAGING["trustpilot_json"], server.url_for("/reviews")
    with ApiClient("tp", url, {}, Budget(10)) as client, pytest.raises(SourceError, match="refusing to follow"):
        list(pages(client, paging, paging.first(url, Window(None, UNTIL), 3, {})))


# -- pull: pages mapped to canonical records --------------------------------------------------


def api_source(server: HTTPServer, fmt: str, family: str, path: str, **kw) -> SourceConfig:
    return SourceConfig(name=fmt.split("_")[0], family=family, format=fmt, url=server.url_for(path), **kw)


def test_pull_maps_pages_through_the_format_and_keeps_page_lineage(server):
    items = [post(i) for i in range(25)]
    v.serve(server, "/2/tweets/search/recent", v.x_search(items))
    source = api_source(server, "x_jsonl", "mention", "/2/tweets/search/recent", page_size=10)
    got = pull(source, Window(SINCE, UNTIL), LONDON)
    frame = pd.concat(got.batches, ignore_index=True)
    # posts 0..23 are on 10 March (T0 = 23:00, one an hour); post 24 (22:00 on the 9th) is before SINCE
    assert list(frame["mention_id"]) == [p["id"] for p in items[:24]]
    assert len(got.pages) == 3 and frame["_file"].tolist()[:10] == [got.pages[0]] * 10
    assert frame["_line"].tolist()[10:13] == [1, 2, 3]  # position within its page
    assert got.cursor_at == UNTIL


def test_pull_drops_items_outside_the_window_and_stops_at_older_pages(server):
    # a server that ignores the date filters: newest first, 3 items an hour apart per page
    items = [review(i) for i in range(40)]
    endpoint = v.serve(server, "/reviews", v.trustpilot(items, filters=False))
    source = api_source(server, "trustpilot_json", "review", "/reviews", page_size=3)
    until = T0 - timedelta(hours=1) + timedelta(seconds=1)  # review 0 (23:00) is after the window's end
    since = T0 - timedelta(hours=7)  # reviews 1..7 are inside
    got = pull(source, Window(since, until), LONDON)
    frame = pd.concat(got.batches, ignore_index=True)
    assert list(frame["review_id"]) == [f"tp{i}" for i in range(1, 8)]
    # page 3 (reviews 6-8) still reaches the window; page 4 (9-11) is wholly older, so paging stops there
    assert len(endpoint.requests) == 4


def test_an_edited_old_review_is_inside_the_window(server):
    old = review(30) | {"updatedAt": z(2)}  # created 30 h before T0, edited 2 h before T0
    v.serve(server, "/reviews", v.trustpilot([old], filters=False))
    got = pull(api_source(server, "trustpilot_json", "review", "/reviews"), Window(SINCE, UNTIL), LONDON)
    assert [list(b["review_id"]) for b in got.batches] == [["tp30"]]


def test_a_format_can_map_pages_itself(server, monkeypatch):
    seen = []

    def read_page(page, source, tz):
        seen.append((page.number, len(page.items)))
        return iter(())

    monkeypatch.setattr(trustpilot_json, "read_page", read_page, raising=False)
    v.serve(server, "/reviews", v.trustpilot([review(i) for i in range(N)]))
    pull(api_source(server, "trustpilot_json", "review", "/reviews", page_size=3), Window(SINCE, UNTIL), LONDON)
    assert seen == [(1, 3), (2, 3), (3, 1)]


def test_the_window_starts_at_the_cursor_or_the_day_less_the_overlap():
    source = SourceConfig(name="tp", family="review", format="trustpilot_json", url="http://api.example/r",
                          overlap=timedelta(days=2))
    day_start, day_end = datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 11, tzinfo=UTC)
    assert window_for(source, day_start, day_end, None) == Window(datetime(2026, 3, 8, tzinfo=UTC), day_end)
    # a cursor three days back (missed runs): the gap is pulled too
    gap = datetime(2026, 3, 7, tzinfo=UTC)
    assert window_for(source, day_start, day_end, gap).since == datetime(2026, 3, 5, tzinfo=UTC)
    # a cursor ahead of the day (a rerun of an old day): the day itself is pulled again
    ahead = datetime(2026, 3, 20, tzinfo=UTC)
    assert window_for(source, day_start, day_end, ahead).since == datetime(2026, 3, 8, tzinfo=UTC)
    full = SourceConfig(name="tp", family="review", format="trustpilot_json", url="http://api.example/r",
                        overlap=None)
    assert window_for(full, day_start, day_end, ahead) == Window(None, day_end)


def test_a_pull_never_asks_for_the_future(server):
    endpoint = v.serve(server, "/reviews", v.trustpilot([review(i) for i in range(3)]))
    now = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)  # the day is not over yet
    got = pull(api_source(server, "trustpilot_json", "review", "/reviews"), Window(SINCE, UNTIL), LONDON, now=now)
    assert endpoint.requests[0].args["endDateTime"] == "2026-03-10T15:29:50Z"  # now less the 10 s margin
    assert got.cursor_at == datetime(2026, 3, 10, 15, 29, 50, tzinfo=UTC)


def test_a_page_of_an_unexpected_shape_fails_naming_the_page(server):
    v.serve(server, "/reviews", lambda r: v.ok({"reviews": {"error": "maintenance"}}))
    with pytest.raises(SourceError, match=r"trustpilot: GET http://127\.0\.0\.1:\d+/reviews\?.*: unexpected response: "
                                          r"'reviews' is a dict, not a list of items"):
        pull(api_source(server, "trustpilot_json", "review", "/reviews"), Window(SINCE, UNTIL), LONDON)


def test_a_page_without_items_is_empty(server):
    v.serve(server, "/v4/reviews", lambda r: v.ok({"averageRating": 4.2, "totalReviewCount": 0}))
    paging, url = PAGING["google_business_json"], server.url_for("/v4/reviews")
    with ApiClient("google", url, {}, Budget(10)) as client:
        assert [p.items for p in pages(client, paging, paging.first(url, Window(None, UNTIL), 50, {}))] == [[]]


def test_pages_are_parsed_in_chunks_and_rows_keep_their_page(server, monkeypatch):
    monkeypatch.setattr("pipelines.sources.api.CHUNK_ITEMS", 4)
    calls = []
    read = trustpilot_json.read

    def counting(path, source, tz):
        calls.append(path)
        yield from read(path, source, tz)

    monkeypatch.setattr("pipelines.sources.api.get_parser", lambda fmt: counting)
    v.serve(server, "/reviews", v.trustpilot([review(i) for i in range(N)]))
    got = pull(api_source(server, "trustpilot_json", "review", "/reviews", page_size=2), Window(SINCE, UNTIL), LONDON)
    frame = pd.concat(got.batches, ignore_index=True)
    assert len(calls) == 2  # pages of 2, 2 | 2, 1: at most 4 items per parse
    assert list(frame["review_id"]) == [f"tp{i}" for i in range(N)]
    assert list(frame["_line"]) == [1, 2, 1, 2, 1, 2, 1]
    assert list(frame["_file"]) == [got.pages[i // 2] for i in range(N)]
    assert all("page=" in u for u in got.pages) and len(set(got.pages)) == 4


@pytest.mark.parametrize(
    ("fmt", "item", "expected"),
    [
        ("trustpilot_json", {"createdAt": "2026-03-01T10:00:00Z", "updatedAt": "2026-03-09T08:00:00.000Z"},
         datetime(2026, 3, 9, 8, tzinfo=UTC)),  # edited later: the edit counts
        ("x_jsonl", {"created_at": "2026-03-10T12:00:00.000Z"}, datetime(2026, 3, 10, 12, tzinfo=UTC)),
        ("reddit_jsonl", {"kind": "t1", "data": {"created_utc": 1773144000.0}},
         datetime(2026, 3, 10, 12, tzinfo=UTC)),  # 1773144000 = 2026-03-10T12:00:00Z
        ("typeform_json", {"submitted_at": "2026-03-10T12:00:00Z"}, datetime(2026, 3, 10, 12, tzinfo=UTC)),
        ("yelp_json", {"time_created": "2026-03-01 04:00:00"}, datetime(2026, 3, 1, 12, tzinfo=UTC)),  # PST = UTC-8
        ("yelp_json", {"time_created": "2026-03-10 04:00:00"}, datetime(2026, 3, 10, 11, tzinfo=UTC)),  # PDT = UTC-7
        ("google_business_json", {"updateTime": "2026-03-10T12:00:00.123456Z"},
         datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=UTC)),
        ("app_store_json", {"attributes": {"createdDate": "2026-03-10T04:00:00-08:00"}},
         datetime(2026, 3, 10, 12, tzinfo=UTC)),
        ("x_jsonl", {"created_at": "yesterday"}, None),
    ],
)
def test_each_vendor_item_time_reads_its_own_timestamp(fmt, item, expected):
    assert PAGING[fmt].item_time(item) == expected


def test_pages_combine_into_one_body_of_the_vendor_shape():
    first = {"data": [{"id": "a1"}], "included": [{"id": "r1"}], "links": {"next": "x"}}
    second = {"data": [{"id": "a2"}], "links": {}}
    merged = PAGING["app_store_json"].combine([first, second])
    assert merged["data"] == [{"id": "a1"}, {"id": "a2"}] and merged["included"] == [{"id": "r1"}]
    assert first["data"] == [{"id": "a1"}]  # the pages themselves are untouched
    reddit = PAGING["reddit_jsonl"].combine([{"kind": "Listing", "data": {"children": [1], "after": "t1_a"}},
                                            {"kind": "Listing", "data": {"children": [2], "after": None}}])
    assert reddit == {"kind": "Listing", "data": {"children": [1, 2], "after": "t1_a"}}


def vendor_items(fmt: str, n: int) -> tuple[str, v.Handler, str, list]:
    """(path, handler, id role, expected ids) for n realistic items of a vendor, newest first, on 10 March."""
    if fmt == "reddit_jsonl":
        items = [{"kind": "t1", "data": {"id": f"c{i}", "name": f"t1_c{i}", "author": f"user{i}",
                                         "body": f"Acme comment {i}", "created_utc": at(i).timestamp(), "score": i,
                                         "subreddit": "acme", "permalink": f"/r/acme/comments/x/c{i}/",
                                         "link_id": "t3_x", "parent_id": "t3_x"}} for i in range(n)]
        return "/r/acme/comments", v.reddit(items), "mention_id", [f"t1_c{i}" for i in range(n)]  # the fullname
    if fmt == "typeform_json":
        items = [{"token": f"tok{i}", "landing_id": f"l{i}", "landed_at": z(i), "submitted_at": z(i),
                  "metadata": {}, "hidden": {"customer_id": f"cu{i}"}, "calculated": {"score": 0},
                  "answers": [{"field": {"id": "f1", "ref": "nps", "type": "opinion_scale"}, "type": "number",
                               "number": i}]} for i in range(n)]
        return "/forms/F1/responses", v.typeform(items), "response_id", [f"tok{i}" for i in range(n)]
    if fmt == "yelp_json":
        items = [{"id": f"y{i}", "url": f"https://www.yelp.com/biz/acme?hrid=y{i}", "text": f"excerpt {i}",
                  "rating": 4.0, "time_created": "2026-03-10 01:00:00", "user": {"id": f"u{i}", "name": f"U{i}"}}
                 for i in range(n)]
        return "/v3/businesses/acme/reviews", v.yelp(items), "review_id", [f"y{i}" for i in range(n)]
    if fmt == "google_business_json":
        items = [{"name": f"accounts/1/locations/2/reviews/g{i}", "reviewId": f"g{i}",
                  "reviewer": {"displayName": f"R{i}", "isAnonymous": False}, "starRating": "FOUR",
                  "comment": f"comment {i}", "createTime": z(i), "updateTime": z(i)} for i in range(n)]
        return "/v4/accounts/1/locations/2/reviews", v.google_business(items), "review_id", [f"g{i}" for i in range(n)]
    items = [{"type": "customerReviews", "id": f"a{i}", "attributes": {
        "rating": 4, "title": f"t{i}", "body": f"b{i}", "reviewerNickname": f"n{i}",
        "createdDate": at(i).astimezone(ZoneInfo("America/Los_Angeles")).isoformat(), "territory": "GBR"}}
        for i in range(n)]
    return "/v1/apps/42/customerReviews", v.app_store(items), "review_id", [f"a{i}" for i in range(n)]


@pytest.mark.parametrize("fmt", ["reddit_jsonl", "typeform_json", "yelp_json", "google_business_json",
                                 "app_store_json"])
def test_every_vendor_pulls_through_its_format(server, fmt):
    path, handler, id_role, ids = vendor_items(fmt, 5)
    v.serve(server, path, handler)
    family = {"reddit_jsonl": "mention", "typeform_json": "survey"}.get(fmt, "review")
    fields = {"nps": "nps"} if fmt == "typeform_json" else {}  # the answer to the question whose ref is nps
    source = SourceConfig(name="api", family=family, format=fmt, url=server.url_for(path), page_size=2, fields=fields)
    got = pull(source, Window(SINCE, UNTIL), LONDON)
    frame = pd.concat(got.batches, ignore_index=True)
    assert list(frame[id_role]) == ids
    assert len(got.pages) == 3 and list(frame["_file"]) == [got.pages[i // 2] for i in range(5)]
    assert list(frame["_line"]) == [1, 2, 1, 2, 1]
    assert frame["_parse_error"].isna().all()
    if fmt == "typeform_json":
        assert list(frame["nps"]) == [0, 1, 2, 3, 4]  # answer i of item i

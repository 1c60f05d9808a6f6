"""Sample files for the formats beyond the first three, each with its vendor's real quirks.

One day's items of a format share a vectorised core (`_items`: volume, times, products, stores,
latent satisfaction, tone) seeded from (seed, format, day) like the rest of the generator, so a
day's files never depend on the range generated. The writers then differ only in how each vendor
ships the items: SurveyMonkey's two header rows (row 2 left out now and then, an XLSX export one
day in seven) and 12-hour dates; Typeform's answers by field; Google Play's UTF-16 monthly export
with millisecond columns and a review id only inside the link; App Store pages with responses in
`included`; Google's star enum; Yelp's naive Pacific times; Reddit's posts, comments and
`[deleted]` authors; and three generic exports read through `fields` and `options`.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pipelines.sample import verbatims as v
from pipelines.sample.generate import (
    REPLY_CHANCE,
    SURVEY_HOURS,
    Day,
    World,
    _bad_time,
    _day,
    _future_ms,
    _iso_one,
    _pick,
    _seed,
    _slots,
    _times,
    _tones,
    _write,
)

PACIFIC = ZoneInfo("America/Los_Angeles")
FILES = {
    "surveymonkey_csv": "surveymonkey/{d}/responses_{d}.{ext}",
    "typeform_json": "typeform/{d}/responses_{d}.json",
    "google_play_csv": "google_play/{d}/reviews_com.acme.app_{m}.csv",
    "app_store_json": "app_store/{d}/customer_reviews_{d}.json",
    "google_business_json": "google_business/{d}/reviews_{d}.json",
    "yelp_json": "yelp/{d}/reviews_{d}.json",
    "reddit_jsonl": "reddit/{d}/things_{d}.jsonl",
    "csv": "store_feedback/{d}/feedback_{d}.tsv",
    "json": "kiosk/{d}/kiosk_{d}.json",
    "jsonl": "community/{d}/posts_{d}.jsonl",
}
BASE_VOLUME = {"surveymonkey_csv": 14, "typeform_json": 12, "google_play_csv": 16, "app_store_json": 12,
               "google_business_json": 10, "yelp_json": 6, "reddit_jsonl": 20, "csv": 10, "json": 12, "jsonl": 14}
MOOD = {"survey": 0.2, "review": -0.1, "mention": -0.3}
WEEKDAY = (1.1, 1.1, 1.05, 1.0, 0.95, 0.6, 0.6)
STAR_CUTS = np.array([-0.75, -0.35, 0.0, 0.45])
STAR_ENUM = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
NPS_Q = "How likely is it that you would recommend {brand} to a friend or colleague?"
WHY_Q = "What is the main reason for your score?"
PRODUCT_Q = "Which of our products do you use most?"
SM_META = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address", "First Name",
           "Last Name", "Custom Data 1"]
SM_DATE = "%m/%d/%Y %I:%M:%S %p"
PLAY_COLUMNS = [
    "Package Name", "App Version Code", "App Version Name", "Reviewer Language", "Device",
    "Review Submit Date and Time", "Review Submit Millis Since Epoch", "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch", "Star Rating", "Review Title", "Review Text",
    "Developer Reply Date and Time", "Developer Reply Millis Since Epoch", "Developer Reply Text", "Review Link",
]
DEVICES = ("a53x", "starlte", "oriole", "panther", "OnePlus9", "redfin", "beyond1", "a14")
TERRITORIES = (("GBR", 0.8), ("IRL", 0.1), ("USA", 0.1))
YELP_TIME = "%Y-%m-%d %H:%M:%S"
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
SUBREDDITS = ("uktelecoms", "CasualUK", "unitedkingdom", "broadband")


@dataclass(frozen=True)
class Items:
    """One day's items of one format: times (epoch ms), draws and generated text."""

    day: Day
    n: int
    at: np.ndarray
    product: np.ndarray
    location: np.ndarray
    latent: np.ndarray
    tone: np.ndarray
    stars: np.ndarray
    nps: np.ndarray
    csat: np.ndarray
    replied: np.ndarray
    reply_delay: np.ndarray
    titles: list[str]
    texts: list[str]
    names: list[str]
    rng: random.Random  # for per-item details in the writer, seeded like the core
    broken: random.Random  # decides defects, seeded separately so text does not shift


def _items(world: World, fmt: str, family: str, day: date) -> Items:
    d = _day(world, day)
    rng = np.random.default_rng(_seed(world, fmt, day))
    expected = BASE_VOLUME[fmt] * world.scale * WEEKDAY[day.weekday()] * float(np.exp(rng.normal(0.0, 0.08)))
    n = int(rng.poisson(expected))
    at = np.sort(_times(world, d, rng, n, hours=SURVEY_HOURS))
    product = _pick(rng, n, [p.weight for p in v.PRODUCTS])
    location = _pick(rng, n, [loc.weight for loc in v.LOCATIONS])
    z = rng.normal(MOOD[family] + d.mood, 1.0, n)
    z += np.array([p.offset for p in v.PRODUCTS])[product] + np.array([loc.offset for loc in v.LOCATIONS])[location]
    tone = _tones(rng, z)
    stars = 1 + np.searchsorted(STAR_CUTS, z + rng.normal(0.0, 0.25, n))
    nps = np.clip(np.rint(7.0 + 2.6 * z + rng.normal(0, 0.6, n)), 0, 10).astype(int)
    csat = np.clip(np.rint(3.6 + 1.1 * z + rng.normal(0, 0.45, n)), 1, 5).astype(int)
    replied = rng.random(n) < np.array(REPLY_CHANCE)[stars - 1]
    reply_delay = (np.clip(np.exp(rng.normal(np.log(18), 1.0, n)), 1, 120) * 3_600_000).astype(np.int64)
    text_rng = random.Random(_seed(world, fmt, "text", day))
    titles, texts, names = [], [], []
    for i in range(n):
        slots = _slots(text_rng, world, int(product[i]), int(location[i]))
        t = v.TONES[tone[i]]
        if family == "review":
            title, body = v.review_text(text_rng, t, v.topic_for(text_rng, t), slots)
        elif family == "survey":
            title, body = "", v.survey_comment(text_rng, t, v.topic_for(text_rng, t), slots)
        else:
            slots["h"] = text_rng.choice((world.brand, f"@{world.brand}", f"{world.brand} broadband"))
            title, body = "", v.post_text(text_rng, t, slots)
        titles.append(title)
        texts.append(body)
        names.append(f"{text_rng.choice(v.FIRST_NAMES)} {text_rng.choice(v.LAST_NAMES)[0]}.")
    return Items(d, n, at, product, location, z, tone, stars, nps, csat, replied, reply_delay, titles, texts, names,
                 text_rng, random.Random(_seed(world, fmt, "defects", day)))


def _token(rng: random.Random, n: int, alphabet: str = ID_CHARS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _local(ms: int, tz: ZoneInfo) -> pd.Timestamp:
    return pd.Timestamp(ms, unit="ms", tz="UTC").tz_convert(tz)


def _defect(items: Items, world: World) -> str | None:
    """Which of the common defects hits the next item, if any."""
    if items.broken.random() >= world.defects:
        return None
    return items.broken.choice(("missing_id", "bad_time", "bad_score", "future"))


def _reply(world: World, items: Items, i: int) -> str:
    return v.owner_reply(items.rng.randrange(1000), int(items.stars[i]), items.names[i], items.rng.choice(v.STAFF),
                         world.brand)


def _csv_text(rows: list[list[str]], delimiter: str = ",", newline: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return out.getvalue()


# -- surveys ---------------------------------------------------------------------------------------------

def write_surveymonkey(world: World, day: date, landing: Path) -> int:
    """SurveyMonkey "All responses": two header rows (row 2 omitted some days), XLSX one day in seven."""
    items = _items(world, "surveymonkey_csv", "survey", day)
    nps_q = NPS_Q.format(brand=world.brand)
    rows: list[list] = [[*SM_META, nps_q, WHY_Q, PRODUCT_Q],
                        ["", "", "", "", "", "", "", "", "", "Response", "Open-Ended Response", "Response"]]
    if day.toordinal() % 5 == 0:
        rows.pop()
    for i in range(items.n):
        end = _local(int(items.at[i]), world.tz)
        start = end - pd.Timedelta(seconds=items.rng.randint(40, 900))
        email = items.rng.random() < 0.6
        first, last = items.names[i].split()
        row = [str(114_000_000_000 + items.day.day.toordinal() * 1000 + i), "404512345",
               start.strftime(SM_DATE), end.strftime(SM_DATE), f"198.51.100.{items.rng.randint(1, 254)}",
               f"{first.lower()}.{items.rng.randint(1, 99)}@example.net" if email else "",
               first if email else "", last if email else "", v.LOCATIONS[items.location[i]].city,
               str(items.nps[i]), "" if items.rng.random() < 0.3 else items.texts[i],
               v.PRODUCTS[items.product[i]].name]
        kind = _defect(items, world)
        if kind == "missing_id":
            row[0] = ""
        elif kind == "bad_time":
            row[3] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            row[9] = "11"
        elif kind == "future":
            row[3] = _local(_future_ms(items.broken, items.day), world.tz).strftime(SM_DATE)
        rows.append(row)
    folder = landing / "surveymonkey" / day.isoformat()
    if day.toordinal() % 7 == 0:
        _write_xlsx(folder / f"responses_{day}.xlsx", rows)
    else:
        _write(folder / f"responses_{day}.csv", _csv_text(rows), encoding="utf-8-sig")
    return items.n


def _write_xlsx(path: Path, rows: list[list]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet")
    for row in rows:
        sheet.append([int(c) if isinstance(c, str) and c.isdigit() and len(c) > 6 else (c or None) for c in row])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    book.save(tmp)
    tmp.replace(path)


def write_typeform(world: World, day: date, landing: Path) -> int:
    """Typeform Responses API page: answers by field, hidden fields, platform metadata."""
    items = _items(world, "typeform_json", "survey", day)
    records = []
    for i in range(items.n):
        token = _token(items.rng, 32, ID_CHARS[26:])
        submitted = _iso_one(int(items.at[i]))
        answers = [
            {"field": {"id": "nPs1Xq", "ref": "nps", "type": "nps"}, "type": "number", "number": int(items.nps[i])},
            {"field": {"id": "cS4tQz", "ref": "satisfaction", "type": "rating"}, "type": "number",
             "number": int(items.csat[i])},
            {"field": {"id": "pR0dUc", "ref": "product", "type": "multiple_choice"}, "type": "choice",
             "choice": {"id": f"c{items.product[i]}", "label": v.PRODUCTS[items.product[i]].name}},
        ]
        if items.rng.random() < 0.7:
            answers.append({"field": {"id": "wHy9Lt", "ref": "why", "type": "long_text"}, "type": "text",
                            "text": items.texts[i]})
        record = {"landing_id": token, "token": token, "response_id": token, "response_type": "completed",
                  "landed_at": _iso_one(int(items.at[i]) - items.rng.randint(30, 600) * 1000),
                  "submitted_at": submitted,
                  "metadata": {"user_agent": "Mozilla/5.0", "platform": items.rng.choice(("mobile", "other")),
                               "referer": f"https://{world.brand.lower()}.typeform.com/to/Xy12", "network_id": "a1"},
                  "hidden": {"customer_id": f"C{items.rng.randint(10**6, 10**7)}",
                             "store": v.LOCATIONS[items.location[i]].city},
                  "calculated": {"score": 0}, "answers": answers}
        kind = _defect(items, world)
        if kind == "missing_id":
            del record["token"], record["response_id"]
        elif kind == "bad_time":
            record["submitted_at"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            answers[0]["number"] = 12
        elif kind == "future":
            record["submitted_at"] = _iso_one(_future_ms(items.broken, items.day))
        records.append(record)
    page = {"total_items": items.n, "page_count": 1, "items": records}
    _write(landing / FILES["typeform_json"].format(d=day), json.dumps(page, ensure_ascii=False, indent=1))
    return items.n


# -- reviews ---------------------------------------------------------------------------------------------

def write_google_play(world: World, day: date, landing: Path) -> int:
    """The Play Console monthly export (one per day's folder here): UTF-16 with a BOM, many empty texts."""
    items = _items(world, "google_play_csv", "review", day)
    rows = [PLAY_COLUMNS]
    for i in range(items.n):
        at = int(items.at[i])
        iso = _iso_one(at).replace(".000Z", "Z")
        review_id = "gp:AOqpTO" + _token(items.rng, 40, ID_CHARS + "_-")
        text = "" if items.rng.random() < 0.25 else items.texts[i]
        reply_ms = at + int(items.reply_delay[i])
        replied = items.replied[i] and reply_ms < items.day.start_ms + items.day.length_ms
        row = ["com.acme.app", "412", "4.1.2", items.rng.choice(("en", "en", "en", "cy", "pl")),
               items.rng.choice(DEVICES), iso, str(at), iso, str(at), str(items.stars[i]), "", text,
               _iso_one(reply_ms).replace(".000Z", "Z") if replied else "", str(reply_ms) if replied else "",
               _reply(world, items, i) if replied else "",
               "http://play.google.com/console/developers/6142/app/4973/user-feedback/review-details"
               f"?reviewId={review_id}&corpus=PUBLIC_REVIEWS"]
        kind = _defect(items, world)
        if kind in ("missing_id", "bad_time"):
            row[5], row[6] = _bad_time(items.broken, day), ""
        elif kind == "bad_score":
            row[9] = "0"
        elif kind == "future":
            row[5], row[6] = "", str(_future_ms(items.broken, items.day))
        rows.append(row)
    path = landing / FILES["google_play_csv"].format(d=day, m=day.strftime("%Y%m"))
    _write(path, _csv_text(rows, newline="\n"), encoding="utf-16")
    return items.n


def write_app_store(world: World, day: date, landing: Path) -> int:
    """App Store Connect customerReviews page: offsets in Pacific time, responses in `included`."""
    items = _items(world, "app_store_json", "review", day)
    data, included = [], []
    territory = _pick(np.random.default_rng(_seed(world, "app_store_json", "t", day)), items.n,
                        [w for _, w in TERRITORIES])
    for i in range(items.n):
        review_id = f"{items.rng.getrandbits(64):016x}-{i:04x}"
        review = {"type": "customerReviews", "id": review_id,
                  "attributes": {"rating": int(items.stars[i]), "title": items.titles[i], "body": items.texts[i],
                                 "reviewerNickname": items.names[i].replace(" ", "_").replace(".", ""),
                                 "createdDate": _local(int(items.at[i]), PACIFIC).isoformat(),
                                 "territory": TERRITORIES[territory[i]][0]},
                  "relationships": {"response": {"links": {"related": f"https://api.example/{review_id}/response"}}}}
        if items.replied[i]:
            response_id = f"r-{review_id}"
            review["relationships"]["response"]["data"] = {"type": "customerReviewResponses", "id": response_id}
            state = "PENDING_PUBLISH" if items.rng.random() < 0.1 else "PUBLISHED"
            included.append({"type": "customerReviewResponses", "id": response_id, "attributes": {
                "responseBody": _reply(world, items, i), "state": state,
                "lastModifiedDate": _local(int(items.at[i] + items.reply_delay[i]), PACIFIC).isoformat()}})
        kind = _defect(items, world)
        if kind == "missing_id":
            del review["id"]
        elif kind == "bad_time":
            review["attributes"]["createdDate"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            review["attributes"]["rating"] = 0
        elif kind == "future":
            review["attributes"]["createdDate"] = _local(_future_ms(items.broken, items.day), PACIFIC).isoformat()
        data.append(review)
    page = {"data": data, "included": included,
            "links": {"self": "https://api.appstoreconnect.apple.com/v1/apps/1234567890/customerReviews"},
            "meta": {"paging": {"total": items.n, "limit": 200}}}
    _write(landing / FILES["app_store_json"].format(d=day), json.dumps(page, ensure_ascii=False))
    return items.n


def write_google_business(world: World, day: date, landing: Path) -> int:
    """Business Profile reviews: the star enum, anonymous reviewers, replies with a last-modified time."""
    items = _items(world, "google_business_json", "review", day)
    reviews = []
    for i in range(items.n):
        review_id = "AbFvOq" + _token(items.rng, 30)
        at = _iso_one(int(items.at[i]))
        anonymous = items.rng.random() < 0.05
        review = {"name": f"accounts/1029384756/locations/{1000 + int(items.location[i])}/reviews/{review_id}",
                  "reviewId": review_id,
                  "reviewer": {"displayName": "A Google User" if anonymous else items.names[i],
                               "isAnonymous": anonymous},
                  "starRating": STAR_ENUM[items.stars[i] - 1], "createTime": at, "updateTime": at}
        if items.rng.random() < 0.8:
            review["comment"] = items.texts[i]
        if items.replied[i]:
            review["reviewReply"] = {"comment": _reply(world, items, i),
                                     "updateTime": _iso_one(int(items.at[i] + items.reply_delay[i]))}
        kind = _defect(items, world)
        if kind == "missing_id":
            del review["reviewId"]
        elif kind == "bad_time":
            review["createTime"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            review["starRating"] = "STAR_RATING_UNSPECIFIED"
        elif kind == "future":
            review["createTime"] = _iso_one(_future_ms(items.broken, items.day))
        reviews.append(review)
    stars = [STAR_ENUM.index(r["starRating"]) + 1 for r in reviews if r["starRating"] in STAR_ENUM]
    page = {"reviews": reviews, "averageRating": round(sum(stars) / len(stars), 1) if stars else 0,
            "totalReviewCount": items.n}
    _write(landing / FILES["google_business_json"].format(d=day), json.dumps(page, ensure_ascii=False))
    return items.n


def write_yelp(world: World, day: date, landing: Path) -> int:
    """Yelp Fusion reviews: excerpts, float ratings, naive Pacific `time_created`."""
    items = _items(world, "yelp_json", "review", day)
    reviews = []
    for i in range(items.n):
        review_id = _token(items.rng, 22, ID_CHARS + "-_")
        text = items.texts[i]
        excerpt = text if len(text) <= 160 else text[:157].rsplit(" ", 1)[0] + "..."
        user = _token(items.rng, 22)
        review = {"id": review_id, "url": f"https://www.yelp.com/biz/{world.brand.lower()}-leeds?hrid={review_id}",
                  "text": excerpt, "rating": float(items.stars[i]),
                  "time_created": _local(int(items.at[i]), PACIFIC).strftime(YELP_TIME),
                  "user": {"id": user, "profile_url": f"https://www.yelp.com/user_details?userid={user}",
                           "image_url": None, "name": items.names[i]}}
        kind = _defect(items, world)
        if kind == "missing_id":
            del review["id"]
        elif kind == "bad_time":
            review["time_created"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            review["rating"] = 0.0
        elif kind == "future":
            review["time_created"] = _local(_future_ms(items.broken, items.day), PACIFIC).strftime(YELP_TIME)
        reviews.append(review)
    page = {"reviews": reviews, "total": items.n, "possible_languages": ["en"]}
    _write(landing / FILES["yelp_json"].format(d=day), json.dumps(page, ensure_ascii=False))
    return items.n


def write_store_feedback(world: World, day: date, landing: Path) -> int:
    """A generic in-store feedback TSV (`csv`): a title line, day-first dates, scores out of 10 as text."""
    items = _items(world, "csv", "review", day)
    rows = [[f"{world.brand} in-store feedback export"], ["Date", "Store", "Product", "Score", "Comment"]]
    for i in range(items.n):
        score = int(np.clip(np.rint(1 + (items.stars[i] - 1) * 9 / 4 + items.rng.uniform(-0.5, 0.5)), 1, 10))
        row = [_local(int(items.at[i]), world.tz).strftime("%d/%m/%Y %H:%M"), v.LOCATIONS[items.location[i]].city,
               v.PRODUCTS[items.product[i]].name, f"{score}/10", items.texts[i].replace("\n", " ")]
        kind = _defect(items, world)
        if kind in ("missing_id", "bad_time"):
            row[0] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            row[3] = "14/10"
        elif kind == "future":
            row[0] = _local(_future_ms(items.broken, items.day), world.tz).strftime("%d/%m/%Y %H:%M")
        rows.append(row)
    _write(landing / FILES["csv"].format(d=day), _csv_text(rows, delimiter="\t"), encoding="utf-8-sig")
    return items.n


def write_kiosk(world: World, day: date, landing: Path) -> int:
    """A generic kiosk survey export (`json`): records under `export.responses`, unix times, CSAT as text."""
    items = _items(world, "json", "survey", day)
    records = []
    for i in range(items.n):
        record = {"ref": f"K{day:%Y%m%d}{i:05d}", "ts": round(int(items.at[i]) / 1000, 3),
                  "store": v.LOCATIONS[items.location[i]].city, "csat": f"{items.csat[i]} of 5",
                  "comment": items.texts[i] if items.rng.random() < 0.6 else None}
        kind = _defect(items, world)
        if kind == "missing_id":
            record["ref"] = None
        elif kind == "bad_time":
            record["ts"] = "yesterday"
        elif kind == "bad_score":
            record["csat"] = "9 of 5"
        elif kind == "future":
            record["ts"] = _future_ms(items.broken, items.day) / 1000
        records.append(record)
    doc = {"export": {"generated": _iso_one(items.day.start_ms + items.day.length_ms), "responses": records}}
    _write(landing / FILES["json"].format(d=day), json.dumps(doc, ensure_ascii=False))
    return items.n


# -- mentions --------------------------------------------------------------------------------------------

def write_reddit(world: World, day: date, landing: Path) -> int:
    """Reddit things, one per line: posts and comments, `[deleted]` authors, `[removed]` as a defect."""
    items = _items(world, "reddit_jsonl", "mention", day)
    lines, posts = [], []
    for i in range(items.n):
        base36 = np.base_repr(items.rng.getrandbits(36), 36).lower()
        sub = items.rng.choice(SUBREDDITS)
        author = "[deleted]" if items.rng.random() < 0.05 else f"{items.names[i].split()[0].lower()}_{i}"
        data = {"id": base36, "author": author, "created_utc": int(items.at[i]) / 1000, "subreddit": sub,
                "score": max(0, int(items.rng.paretovariate(1.5)) - 1 + (1 if items.tone[i] == 0 else 0))}
        text = items.texts[i].replace("&", "&amp;")
        if posts and items.rng.random() < 0.7:
            parent = items.rng.choice(posts)
            data.update(name=f"t1_{base36}", body=text, link_id=parent, parent_id=parent,
                        permalink=f"/r/{sub}/comments/{parent[3:]}/_/{base36}/")
            thing = {"kind": "t1", "data": data}
        else:
            slug = text.split(" ", 1)[0].lower().strip("@#")[:20]
            data.update(name=f"t3_{base36}", title=text, selftext="", num_comments=items.rng.randint(0, 40),
                        permalink=f"/r/{sub}/comments/{base36}/{slug}/")
            posts.append(f"t3_{base36}")
            thing = {"kind": "t3", "data": data}
        kind = _defect(items, world)
        if kind == "missing_id":
            thing["data"]["body" if thing["kind"] == "t1" else "title"] = "[removed]"
        elif kind == "bad_time":
            data["created_utc"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            data["name"] = f"{float(items.rng.getrandbits(60)):.5E}"
        elif kind == "future":
            data["created_utc"] = _future_ms(items.broken, items.day) / 1000
        lines.append(json.dumps(thing, ensure_ascii=False))
    _write(landing / FILES["reddit_jsonl"].format(d=day), "".join(line + "\n" for line in lines))
    return items.n


def write_community(world: World, day: date, landing: Path) -> int:
    """A generic community-forum export (`jsonl`): ISO times with offsets, nested user objects."""
    items = _items(world, "jsonl", "mention", day)
    lines = []
    for i in range(items.n):
        post = {"post_id": f"cm-{day:%Y%m%d}-{i:05d}", "posted": _local(int(items.at[i]), world.tz).isoformat(),
                "user": {"handle": items.names[i].split()[0].lower() + str(i)}, "body": items.texts[i],
                "reactions": {"like": int(items.rng.paretovariate(2.0)) - 1}}
        kind = _defect(items, world)
        if kind == "missing_id":
            del post["post_id"]
        elif kind == "bad_time":
            post["posted"] = _bad_time(items.broken, day)
        elif kind == "bad_score":
            lines.append(json.dumps(post)[: items.broken.randint(10, 40)])
            continue
        elif kind == "future":
            post["posted"] = _iso_one(_future_ms(items.broken, items.day))
        lines.append(json.dumps(post, ensure_ascii=False))
    _write(landing / FILES["jsonl"].format(d=day), "".join(line + "\n" for line in lines))
    return items.n


WRITERS: dict[str, Callable[[World, date, Path], int]] = {
    "surveymonkey_csv": write_surveymonkey,
    "typeform_json": write_typeform,
    "google_play_csv": write_google_play,
    "app_store_json": write_app_store,
    "google_business_json": write_google_business,
    "yelp_json": write_yelp,
    "reddit_jsonl": write_reddit,
    "csv": write_store_feedback,
    "json": write_kiosk,
    "jsonl": write_community,
}

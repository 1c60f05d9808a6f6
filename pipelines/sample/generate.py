"""Realistic landing files for the example config: every built-in format, one file per format and day.

This module writes the three richest feeds — Trustpilot reviews, X posts, Qualtrics responses —
and `vendors.py` the other formats on the same seeded day model.

Each business day D gets `trustpilot/<D>/reviews_<D>.json`, `x/<D>/posts_<D>.jsonl` and
`qualtrics/<D>/responses_<D>.csv` under the landing directory. Every random draw is seeded from
(seed, format, D), never from a running generator, so a day's files are byte-identical whatever
range they were generated in. Volumes follow a weekday profile with noise and the odd outage day;
one latent satisfaction per item drives both its scores and the tone of its text.

What real files do is there even without defects: late items (timestamps 1–3 days before D),
edited Trustpilot reviews returning with the same id and a later `updatedAt`, owner replies, HTML
entities, emoji, a BOM, CRLF and quoted newlines in the Qualtrics export. With `defects` > 0 that
share of rows is broken the ways real feeds break (missing ids, bad or future timestamps,
out-of-range scores, Excel-mangled ids, truncated JSON lines, formula and script text, a trailing
summary line).
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import math
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pipelines.sample import verbatims as v

LONDON = ZoneInfo("Europe/London")
FILES = {
    "trustpilot_json": "trustpilot/{d}/reviews_{d}.json",
    "x_jsonl": "x/{d}/posts_{d}.jsonl",
    "qualtrics_csv": "qualtrics/{d}/responses_{d}.csv",
}
BASE_VOLUME = {"trustpilot_json": 40, "x_jsonl": 150, "qualtrics_csv": 30}
WEEKDAY_FACTOR = {  # Monday first: complaints peak early in the week, surveys go quiet at weekends
    "trustpilot_json": (1.15, 1.1, 1.05, 1.0, 0.95, 0.7, 0.8),
    "x_jsonl": (1.1, 1.05, 1.05, 1.0, 0.95, 0.7, 0.75),
    "qualtrics_csv": (1.1, 1.15, 1.1, 1.05, 0.95, 0.55, 0.5),
}
BASE_MOOD = {"trustpilot_json": -0.1, "x_jsonl": -0.3, "qualtrics_csv": 0.25}
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 11, 12, 11, 10, 10, 10, 11, 12, 13, 13, 11, 8, 4], float)
SURVEY_HOURS = (6, 23)  # local hours a survey is recorded in: clear of DST gaps and repeats
LATE_SHARE = 0.03
EDIT_SHARE = 0.02
EDIT_WINDOW = 14  # days after which an edited review comes back
OUTAGE_CHANCE = 0.05
REPLY_CHANCE = (0.7, 0.6, 0.4, 0.2, 0.15)  # owner reply by stars 1..5
TWITTER_EPOCH_MS = 1288834974657
BAD_TIMES = ("31/02/{year} 25:61", "{year}-13-45T99:00:00Z", "yesterday", "0000-00-00 00:00:00")
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://refund-claims.example/acme","Click here for your refund")'
CHANNELS = (("email", 0.55), ("anonymous", 0.2), ("smsinvite", 0.15), ("qr", 0.07), ("social", 0.03))
USER_LANGUAGES = (("EN-GB", 0.85), ("EN", 0.1), ("CY", 0.05))
MAIL_DOMAINS = ("example.com", "example.co.uk", "example.net", "mail.example")
BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
QUALTRICS_META = (
    ("StartDate", "Start Date", "startDate"), ("EndDate", "End Date", "endDate"),
    ("Status", "Response Type", "status"), ("IPAddress", "IP Address", "ipAddress"),
    ("Progress", "Progress", "progress"), ("Duration (in seconds)", "Duration (in seconds)", "duration"),
    ("Finished", "Finished", "finished"), ("RecordedDate", "Recorded Date", "recordedDate"),
    ("ResponseId", "Response ID", "_recordId"), ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
    ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
    ("RecipientEmail", "Recipient Email", "recipientEmail"),
    ("ExternalReference", "External Data Reference", "externalDataReference"),
    ("LocationLatitude", "Location Latitude", "locationLatitude"),
    ("LocationLongitude", "Location Longitude", "locationLongitude"),
    ("DistributionChannel", "Distribution Channel", "distributionChannel"),
    ("UserLanguage", "User Language", "userLanguage"),
)
QUALTRICS_QUESTIONS = (
    ("Q1", "How likely are you to recommend {brand} to a friend or colleague?", "QID1"),
    ("Q2", "Overall, how satisfied are you with {brand}?", "QID2"),
    ("Q3", "How easy was it to get what you needed from {brand} today?", "QID3"),
    ("Q4", "What is the main reason for your score?", "QID4_TEXT"),
    ("Q5", "Which best describes where you are with {brand} right now?", "QID5"),
    ("Q6", "Where did you last deal with us?", "QID6"),
    ("Product", "Product", "Product"),
    ("Location", "Location", "Location"),
)
DATE_COLUMNS = {"startDate", "endDate", "recordedDate"}


@dataclass(frozen=True)
class World:
    """The generation parameters every day shares."""

    seed: int
    scale: int
    defects: float
    tz: ZoneInfo
    brand: str
    competitors: tuple[str, ...]


@dataclass(frozen=True)
class Day:
    """One business day: its UTC bounds, its mood, and the location of an outage, if any."""

    day: date
    start_ms: int
    length_ms: int
    mood: float
    outage: int | None


def generate(
    landing: Path,
    start: date,
    end: date,
    *,
    scale: int = 1,
    defects: float = 0.0,
    seed: int = 7,
    tz: ZoneInfo = LONDON,
    brand: str = "Acme",
    competitors: tuple[str, ...] = ("Globex", "Initech"),
) -> dict[str, int]:
    """Write the landing files of every day in start..end; returns the rows written per format."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    if not 0.0 <= defects <= 1.0:
        raise ValueError(f"defects must be in [0, 1], got {defects}")
    world = World(seed, scale, defects, tz, brand, tuple(competitors))
    writers: dict[str, Callable[[World, date, Path], int]] = {
        "trustpilot_json": write_reviews, "x_jsonl": write_posts, "qualtrics_csv": write_responses,
    }
    from pipelines.sample.vendors import WRITERS

    counts = dict.fromkeys([*FILES, *WRITERS], 0)
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        for fmt, writer in writers.items():
            path = Path(landing) / FILES[fmt].format(d=day.isoformat())
            counts[fmt] += writer(world, day, path)
        for fmt, vendor_writer in WRITERS.items():
            counts[fmt] += vendor_writer(world, day, Path(landing))
    return counts


# -- shared plumbing -----------------------------------------------------------------------------

def _seed(world: World, *parts: object) -> int:
    """A 64-bit seed from the world seed and `parts`: stable across runs and Python processes."""
    text = ":".join(str(p) for p in (world.seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


@lru_cache(maxsize=64)
def _day(world: World, day: date) -> Day:
    rng = random.Random(_seed(world, "day", day))
    first = datetime.combine(day, time(0), tzinfo=world.tz).astimezone(UTC)
    after = datetime.combine(day + timedelta(days=1), time(0), tzinfo=world.tz).astimezone(UTC)
    mood = rng.gauss(0.0, 0.12)
    outage = rng.randrange(len(v.LOCATIONS)) if rng.random() < OUTAGE_CHANCE else None
    return Day(day, int(first.timestamp() * 1000), int((after - first).total_seconds() * 1000), mood, outage)


def _count(world: World, fmt: str, day: Day, rng: np.random.Generator) -> int:
    expected = BASE_VOLUME[fmt] * world.scale * WEEKDAY_FACTOR[fmt][day.day.weekday()]
    expected *= math.exp(rng.normal(0.0, 0.08)) * (1.0 if day.outage is None else 1.3)
    return int(rng.poisson(expected))


def _times(world: World, day: Day, rng: np.random.Generator, n: int, hours: tuple[int, int] = (0, 24)) -> np.ndarray:
    """Epoch milliseconds inside day D (or, for LATE_SHARE of items, inside one of the 3 days before)."""
    late = np.where(rng.random(n) < LATE_SHARE, rng.integers(1, 4, n), 0)
    weights = HOUR_WEIGHTS[hours[0]:hours[1]]
    hour = rng.choice(np.arange(hours[0], hours[1]), size=n, p=weights / weights.sum())
    within = hour * 3_600_000 + rng.integers(0, 3_600_000, n)
    starts = np.empty(4, np.int64)
    lengths = np.empty(4, np.int64)
    for k in range(4):
        other = day if k == 0 else _day(world, day.day - timedelta(days=k))
        starts[k], lengths[k] = other.start_ms, other.length_ms
    return starts[late] + within % lengths[late]


def _iso(ms: np.ndarray) -> list[str]:
    """UTC ISO-8601 with milliseconds and Z, as Trustpilot and X write them."""
    return [s + "Z" for s in np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")]


def _iso_one(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _local(ms: np.ndarray, tz: ZoneInfo) -> list[str]:
    """Naive local `YYYY-MM-DD HH:MM:SS`, as Qualtrics writes its dates."""
    local = pd.to_datetime(ms, unit="ms", utc=True).tz_convert(tz).tz_localize(None)
    return [s.replace("T", " ") for s in np.datetime_as_string(local.values.astype("datetime64[s]"), unit="s")]


def _latent(world: World, fmt: str, day: Day, rng: np.random.Generator, product: np.ndarray,
            location: np.ndarray) -> np.ndarray:
    """Latent satisfaction: noise plus product, location, day and outage effects."""
    z = rng.normal(BASE_MOOD[fmt] + day.mood, 1.0, len(product))
    z += np.array([p.offset for p in v.PRODUCTS])[product] + np.array([loc.offset for loc in v.LOCATIONS])[location]
    if day.outage is not None:
        z -= 0.6 * (location == day.outage)
    return z


def _pick(rng: np.random.Generator, n: int, weights: list[float] | tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _tones(rng: np.random.Generator, z: np.ndarray) -> np.ndarray:
    """The tone of each item's text: its latent satisfaction seen through a little noise."""
    t = z + rng.normal(0.0, 0.3, len(z))
    return np.where(t < -0.35, 0, np.where(t > 0.35, 2, 1))


def _hex(rng: np.random.Generator, n: int) -> list[str]:
    """`n` random 96-bit ids as 24 hex digits (Trustpilot's ids look like MongoDB ObjectIds)."""
    a, b = rng.integers(0, 1 << 48, n).tolist(), rng.integers(0, 1 << 48, n).tolist()
    return [f"{x:012x}{y:012x}" for x, y in zip(a, b, strict=True)]


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Replace `path` atomically, so a crash never leaves half a file the pipeline would read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding=encoding, newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _slots(rng: random.Random, world: World, product: int, location: int) -> v.Slots:
    p = v.PRODUCTS[product]
    competitor = rng.choice(world.competitors) if world.competitors else "my old provider"
    return v.Slots(rng, brand=world.brand, competitor=competitor, product=p.name, service=p.service,
                   device=p.device, location=v.LOCATIONS[location].city)


def _bad_time(rng: random.Random, day: date) -> str:
    return rng.choice(BAD_TIMES).format(year=day.year)


def _future_ms(rng: random.Random, day: Day) -> int:
    return day.start_ms + day.length_ms + rng.randint(2, 10 * 24) * 3_600_000


# -- Trustpilot ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewCore:
    """The cheap, vectorised facts of one day's reviews: enough to re-create an edit days later."""

    day: Day
    ids: list[str]
    consumer_ids: list[str]
    created: np.ndarray
    created_at: list[str]
    latent: np.ndarray
    tone: np.ndarray
    stars: np.ndarray
    product: np.ndarray
    location: np.ndarray
    located: np.ndarray
    tagged: np.ndarray
    first: np.ndarray
    last: np.ndarray
    name_style: np.ndarray
    review_counts: np.ndarray
    verified: np.ndarray
    replied: np.ndarray
    reply_delay: np.ndarray
    reply_pick: np.ndarray
    agent: np.ndarray
    edited: np.ndarray
    edit_delay: np.ndarray


@lru_cache(maxsize=EDIT_WINDOW + 2)
def review_core(world: World, day: date) -> ReviewCore:
    """The vectorised part of a day's reviews, from that day's seed alone."""
    d = _day(world, day)
    rng = np.random.default_rng(_seed(world, "trustpilot_json", day))
    n = _count(world, "trustpilot_json", d, rng)
    created = _times(world, d, rng, n)
    product = _pick(rng, n, [p.weight for p in v.PRODUCTS])
    location = _pick(rng, n, [loc.weight for loc in v.LOCATIONS])
    latent = _latent(world, "trustpilot_json", d, rng, product, location)
    tone = _tones(rng, latent)
    stars = 1 + np.searchsorted(np.array([-0.75, -0.35, 0.0, 0.45]), latent + rng.normal(0.0, 0.25, n))
    ids = [f"{s:08x}{r[8:]}" for s, r in zip((created // 1000).tolist(), _hex(rng, n), strict=True)]
    return ReviewCore(
        day=d, ids=ids, consumer_ids=_hex(rng, n), created=created, created_at=_iso(created), latent=latent, tone=tone,
        stars=stars, product=product, location=location,
        located=rng.random(n) < 0.7, tagged=rng.random(n) < 0.85,
        first=rng.integers(0, len(v.FIRST_NAMES), n), last=rng.integers(0, len(v.LAST_NAMES), n),
        name_style=rng.integers(0, 4, n), review_counts=1 + rng.geometric(0.35, n),
        verified=rng.random(n) < 0.8,
        replied=rng.random(n) < np.array(REPLY_CHANCE)[stars - 1],
        reply_delay=(np.clip(np.exp(rng.normal(math.log(18), 1.0, n)), 1, 120) * 3_600_000).astype(np.int64),
        reply_pick=rng.integers(0, 1000, n), agent=rng.integers(0, len(v.STAFF), n),
        edited=rng.random(n) < EDIT_SHARE, edit_delay=rng.integers(1, EDIT_WINDOW + 1, n),
    )


def _display_name(core: ReviewCore, i: int) -> str:
    first, last = v.FIRST_NAMES[core.first[i]], v.LAST_NAMES[core.last[i]]
    return (f"{first} {last[0]}", f"{first} {last}", first.lower(), f"{first[0]}. {last}")[core.name_style[i]]


def _review(world: World, core: ReviewCore, i: int, stars: int, title: str, body: str,
            updated: str | None) -> dict:
    """A Trustpilot review object as the API returns it; the owner reply answers the first version."""
    city = v.LOCATIONS[core.location[i]].city
    name = _display_name(core, i)
    reply = None
    if core.replied[i]:
        at = _iso_one(int(core.created[i] + core.reply_delay[i]))
        message = v.owner_reply(int(core.reply_pick[i]), int(core.stars[i]), name, v.STAFF[core.agent[i]],
                                world.brand)
        reply = {"message": message, "createdAt": at}
    return {
        "id": core.ids[i],
        "consumer": {"id": core.consumer_ids[i], "displayName": name, "numberOfReviews": int(core.review_counts[i])},
        "businessUnit": {"id": _stable_hex(world.brand), "identifyingName": f"www.{world.brand.lower()}.co.uk"},
        "stars": stars,
        "title": title,
        "text": body,
        "language": "en",
        "location": {"id": _stable_hex(world.brand + city), "name": city} if core.located[i] else None,
        "tags": [{"group": "product", "value": v.PRODUCTS[core.product[i]].name}] if core.tagged[i] else [],
        "createdAt": core.created_at[i],
        "updatedAt": updated,
        "reply": reply,
        "status": "active",
        "verificationLevel": "verified" if core.verified[i] else "not-verified",
    }


def _stable_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _entities(text: str, rng: random.Random) -> str:
    """Text as some exports deliver it: HTML entities for `&`, now and then for quotes too."""
    roll = rng.random()
    if roll < 0.06:
        return html.escape(text)
    if "&" in text and roll < 0.55:
        return text.replace("&", "&amp;")
    return text


def write_reviews(world: World, day: date, path: Path) -> int:
    """Day D's reviews as a JSON array, with the edits of earlier reviews coming due on D."""
    core = review_core(world, day)
    rng = random.Random(_seed(world, "trustpilot_json", "text", day))
    items: list[tuple[int, dict]] = []
    for i in range(len(core.ids)):
        slots = _slots(rng, world, int(core.product[i]), int(core.location[i]))
        tone = v.TONES[core.tone[i]]
        title, body = v.review_text(rng, tone, v.topic_for(rng, tone), slots)
        items.append((int(core.created[i]), _review(world, core, i, int(core.stars[i]), title,
                                                    _entities(body, rng), None)))
    edit_rng = random.Random(_seed(world, "trustpilot_json", "edits", day))
    for back in range(1, EDIT_WINDOW + 1):
        past = review_core(world, day - timedelta(days=back))
        for i in np.flatnonzero(past.edited & (past.edit_delay == back)).tolist():
            old = int(past.stars[i])
            stars = min(5, old + edit_rng.randint(1, 3)) if old <= 3 else max(1, old - edit_rng.randint(1, 3))
            tone = v.NEG if stars <= 2 else v.MIX if stars == 3 else v.POS
            slots = _slots(edit_rng, world, int(past.product[i]), int(past.location[i]))
            title, body = v.review_text(edit_rng, tone, v.topic_for(edit_rng, tone), slots)
            body = edit_rng.choice(("UPDATE: ", "Edit: ", "Update - ")) + body
            at = core.day.start_ms + edit_rng.randrange(core.day.length_ms)
            items.append((at, _review(world, past, i, stars, title, body, _iso_one(at))))
    items.sort(key=lambda item: item[0])
    records = [record for _, record in items]
    broken = random.Random(_seed(world, "trustpilot_json", "defects", day))
    for record in records:
        if broken.random() < world.defects:
            _break_review(record, broken, core.day)
    _write(path, "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n")
    return len(records)


def _break_review(record: dict, rng: random.Random, day: Day) -> None:
    kind = rng.choice(("missing_id", "bad_time", "bad_stars", "script", "future"))
    if kind == "missing_id":
        del record["id"]
    elif kind == "bad_time":
        record["createdAt"] = _bad_time(rng, day.day)
    elif kind == "bad_stars":
        record["stars"] = rng.choice((0, 6))
    elif kind == "script":
        record["text"] = f"{record['text']} {SCRIPT}"
    else:
        record["createdAt"] = _iso_one(_future_ms(rng, day))


# -- X -------------------------------------------------------------------------------------------

def write_posts(world: World, day: date, path: Path) -> int:
    """Day D's X posts naming the brand (mostly) or a competitor, one JSON object per line."""
    d = _day(world, day)
    rng = np.random.default_rng(_seed(world, "x_jsonl", day))
    n = _count(world, "x_jsonl", d, rng)
    if d.outage is not None:
        n = int(n * 1.7)
    created = _times(world, d, rng, n)
    product = _pick(rng, n, [p.weight for p in v.PRODUCTS])
    location = _pick(rng, n, [loc.weight for loc in v.LOCATIONS])
    outage = rng.random(n) < (0.45 if d.outage is not None else 0.0)
    if d.outage is not None:
        location = np.where(outage, d.outage, location)
    latent = _latent(world, "x_jsonl", d, rng, product, location)
    tone = np.where(outage, 0, _tones(rng, latent))
    competitor = rng.random(n) < (0.22 if world.competitors else 0.0)
    reply = rng.random(n) < 0.15
    ids = ((created - TWITTER_EPOCH_MS) << 22) | rng.integers(0, 1 << 22, n)
    parents = ids - (rng.integers(60_000, 86_400_000, n) << 22)
    authors = rng.integers(10**8, 10**18, n)
    reply_users = rng.integers(10**8, 10**18, n)
    likes = np.floor(rng.pareto(1.6, n) * np.where(tone == 0, 4, 2)).astype(int)
    shares = rng.binomial(likes, 0.15)
    replies = rng.binomial(likes + 2, 0.2)
    impressions = (likes + 1) * rng.integers(20, 300, n)
    und = rng.random(n) < 0.03
    iso = _iso(created)
    text_rng = random.Random(_seed(world, "x_jsonl", "text", day))
    broken = random.Random(_seed(world, "x_jsonl", "defects", day))
    lines = []
    for i in np.argsort(created, kind="stable").tolist():
        slots = _slots(text_rng, world, int(product[i]), int(location[i]))
        name = text_rng.choice(world.competitors) if competitor[i] else world.brand
        slots["h"] = text_rng.choice((f"@{name}", f"@{name}", f"@{name}_Help", name, f"#{name}"))
        text = v.post_text(text_rng, v.TONES[tone[i]], slots, outage=bool(outage[i]))
        post_id = str(ids[i])
        post: dict = {"id": post_id, "text": text, "created_at": iso[i], "author_id": str(authors[i]),
                      "lang": "und" if und[i] else "en", "conversation_id": post_id}
        if reply[i]:
            handle = text_rng.choice(v.FIRST_NAMES).lower() + text_rng.choice(("", "_")) + str(text_rng.randint(1, 99))
            post["text"] = f"@{handle} {text}"
            post["conversation_id"] = str(parents[i])
            post["in_reply_to_user_id"] = str(reply_users[i])
            post["referenced_tweets"] = [{"type": "replied_to", "id": str(parents[i])}]
        post["public_metrics"] = {"retweet_count": int(shares[i]), "reply_count": int(replies[i]),
                                  "like_count": int(likes[i]), "quote_count": int(shares[i] // 3),
                                  "bookmark_count": int(likes[i] // 5), "impression_count": int(impressions[i])}
        post["edit_history_tweet_ids"] = [post_id]
        lines.append(_post_line(post, broken, d, world.defects))
    _write(path, "".join(line + "\n" for line in lines))
    return n


def _post_line(post: dict, rng: random.Random, day: Day, defects: float) -> str:
    """One JSONL line: the API's escaping and entities, and maybe a defect."""
    kind = rng.choice(("missing_id", "bad_time", "truncated", "mangled_id", "script", "future")) \
        if rng.random() < defects else None
    if kind == "script":
        post["text"] = f"{post['text']} {SCRIPT}"
    post["entities"] = _post_entities(post["text"])
    post["text"] = post["text"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if kind == "missing_id":
        del post["id"]
    elif kind == "bad_time":
        post["created_at"] = _bad_time(rng, day.day)
    elif kind == "mangled_id":
        post["id"] = f"{int(post['id']):.2E}"
    elif kind == "future":
        post["created_at"] = _iso_one(_future_ms(rng, day))
    line = json.dumps(post, ensure_ascii=False)
    if kind == "truncated":
        line = line[: rng.randint(20, len(line) - 10)]
    return line


def _post_entities(text: str) -> dict:
    entities: dict = {}
    mentions = [{"start": m.start(), "end": m.end(), "username": m.group(1)} for m in re.finditer(r"@(\w+)", text)]
    hashtags = [{"start": m.start(), "end": m.end(), "tag": m.group(1)} for m in re.finditer(r"#(\w+)", text)]
    if mentions:
        entities["mentions"] = mentions
    if hashtags:
        entities["hashtags"] = hashtags
    return entities


# -- Qualtrics -----------------------------------------------------------------------------------

def write_responses(world: World, day: date, path: Path) -> int:
    """Day D's survey responses as a Qualtrics export: BOM, CRLF, three header rows."""
    d = _day(world, day)
    rng = np.random.default_rng(_seed(world, "qualtrics_csv", day))
    n = _count(world, "qualtrics_csv", d, rng)
    recorded = _times(world, d, rng, n, hours=SURVEY_HOURS)
    product = _pick(rng, n, [p.weight for p in v.PRODUCTS])
    location = _pick(rng, n, [loc.weight for loc in v.LOCATIONS])
    latent = _latent(world, "qualtrics_csv", d, rng, product, location)
    tone = _tones(rng, latent)
    nps = np.clip(np.rint(7.0 + 2.6 * latent + rng.normal(0, 0.6, n)), 0, 10).astype(int)
    csat = np.clip(np.rint(3.6 + 1.1 * latent + rng.normal(0, 0.45, n)), 1, 5).astype(int)
    ces = np.clip(np.rint(4.9 + 1.5 * latent + rng.normal(0, 0.6, n)), 1, 7).astype(int)
    duration = np.clip(np.exp(rng.normal(math.log(140), 0.7, n)), 25, 3600).astype(int)
    channel = _pick(rng, n, [w for _, w in CHANNELS])
    language = _pick(rng, n, [w for _, w in USER_LANGUAGES])
    partial = rng.random(n) < 0.04
    progress = np.where(partial, rng.integers(30, 90, n), 100)
    silent = rng.random(n) < 0.3
    skipped_csat, skipped_ces = rng.random(n) < 0.04, rng.random(n) < 0.06
    ids = ["R_" + "".join(row) for row in BASE62[rng.integers(0, 62, (n, 15))]]
    first, last = rng.integers(0, len(v.FIRST_NAMES), n), rng.integers(0, len(v.LAST_NAMES), n)
    account = rng.integers(10**9, 10**10, n)
    ip = rng.integers(1, 255, n)
    ip_net = rng.integers(0, 3, n)
    jitter = rng.normal(0, 0.05, (n, 2))
    recorded_text = _local(recorded, world.tz)
    start_text = _local(recorded - duration * 1000, world.tz)
    end_text = _local(recorded - rng.integers(0, 3000, n), world.tz)

    text_rng = random.Random(_seed(world, "qualtrics_csv", "text", day))
    broken = random.Random(_seed(world, "qualtrics_csv", "defects", day))
    rows = []
    for i in np.argsort(recorded, kind="stable").tolist():
        t = v.TONES[tone[i]]
        topic = v.topic_for(text_rng, t)
        slots = _slots(text_rng, world, int(product[i]), int(location[i]))
        comment = "" if silent[i] or partial[i] else v.survey_comment(text_rng, t, topic, slots)
        stage, touchpoint = v.TOPICS[topic]
        if text_rng.random() < 0.2:
            stage, touchpoint = text_rng.choice(v.JOURNEY_STAGES), text_rng.choice(v.TOUCHPOINTS)
        emailed = CHANNELS[channel[i]][0] == "email"
        fn, ln = v.FIRST_NAMES[first[i]], v.LAST_NAMES[last[i]]
        email = f"{fn}.{ln}{text_rng.randint(1, 99)}@{text_rng.choice(MAIL_DOMAINS)}".lower().replace("'", "")
        city = v.LOCATIONS[location[i]]
        row = [
            start_text[i], end_text[i], "0", f"{('192.0.2', '198.51.100', '203.0.113')[ip_net[i]]}.{ip[i]}",
            str(progress[i]), str(duration[i]), "0" if partial[i] else "1", recorded_text[i], ids[i],
            ln if emailed else "", fn if emailed else "", email if emailed else "",
            str(account[i]) if emailed else "", f"{city.lat + jitter[i, 0]:.4f}", f"{city.lon + jitter[i, 1]:.4f}",
            CHANNELS[channel[i]][0], USER_LANGUAGES[language[i]][0],
            str(nps[i]), "" if skipped_csat[i] else str(csat[i]),
            "" if skipped_ces[i] or partial[i] else str(ces[i]), comment,
            "" if partial[i] else stage, "" if partial[i] else touchpoint,
            v.PRODUCTS[product[i]].name, city.city,
        ]
        if broken.random() < world.defects:
            _break_response(row, broken, d, world.tz)
        rows.append(row)
    if world.defects and broken.random() < min(1.0, 10 * world.defects):
        rows.append(["Total responses", str(n)])
    _write(path, _qualtrics_csv(world, rows), encoding="utf-8-sig")
    return len(rows)


def _break_response(row: list[str], rng: random.Random, day: Day, tz: ZoneInfo) -> None:
    recorded, response_id, nps, csat, ces, comment = 7, 8, 17, 18, 19, 20
    kind = rng.choice(("missing_id", "bad_time", "bad_score", "mangled_id", "formula", "script", "future",
                       "label"))
    if kind == "missing_id":
        row[response_id] = ""
    elif kind == "bad_time":
        row[recorded] = _bad_time(rng, day.day)
    elif kind == "bad_score":
        column, value = rng.choice(((nps, "11"), (csat, "9"), (ces, "0"), (ces, "8")))
        row[column] = value
    elif kind == "mangled_id":
        row[response_id] = f"{rng.randint(10**17, 10**18 - 1):.5E}"
    elif kind == "formula":
        row[comment] = FORMULA
    elif kind == "script":
        row[comment] = f"{SCRIPT} {row[comment]}".strip()
    elif kind == "future":
        row[recorded] = _local(np.array([_future_ms(rng, day)]), tz)[0]
    else:
        row[nps] = rng.choice(("Extremely likely", "Not at all likely"))


def _qualtrics_csv(world: World, rows: list[list[str]]) -> str:
    """The export text: names, question texts, ImportId JSON, then the responses, CRLF."""
    columns = [*QUALTRICS_META, *QUALTRICS_QUESTIONS]
    import_ids = []
    for _, _, import_id in columns:
        spec = {"ImportId": import_id}
        if import_id in DATE_COLUMNS:
            spec["timeZone"] = world.tz.key
        import_ids.append(json.dumps(spec, separators=(",", ":")))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _, _ in columns])
    writer.writerow([text.format(brand=world.brand) for _, text, _ in columns])
    writer.writerow(import_ids)
    writer.writerows(rows)
    return out.getvalue()

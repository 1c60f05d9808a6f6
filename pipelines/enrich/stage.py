"""Canonical batches → staging rows: typed, PII-free, dated in business time, with sentiment."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from pipelines.enrich.pii import hash_ids, redact
from pipelines.enrich.sentiment import SentimentModel, get_model, label, score_series
from pipelines.enrich.sentiment_cache import WarehouseCache
from pipelines.sources.base import ID_COLUMN, TIME_COLUMN

STAGING_TABLE = {
    "review": "staging.stg_review",
    "mention": "staging.stg_mention",
    "survey": "staging.stg_survey_response",
}
IDENTITY_COLUMNS = ["email_hash", "customer_id_hash"]
_COLUMNS = {
    "review": ["source", "review_id", "created_at", "updated_at", "version_at", "feedback_date", "rating",
               "title", "body", "text", "language", "author_hash", "product", "location", "reply_text",
               "reply_at", "url"],
    "mention": ["source", "mention_id", "created_at", "version_at", "feedback_date", "text", "language",
                "author_hash", "likes", "shares", "replies", "url", "in_reply_to", "names_brand",
                "names_competitor"],
    "survey": ["source", "response_id", "submitted_at", "version_at", "feedback_date", "respondent_hash",
               "nps", "csat", "ces", "comment", "text", "journey_stage", "touchpoint", "product", "location",
               "channel"],
}
STAGING_COLUMNS = {
    family: [*cols, *IDENTITY_COLUMNS, "sentiment_score", "sentiment_label", "_load_id", "_file", "_line"]
    for family, cols in _COLUMNS.items()
}


def _blank_to_na(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    return s.mask(s == "")


def _names(text: pd.Series, names: tuple[str, ...]) -> pd.Series:
    """Whether each text names any of `names` as a word, @handle or #hashtag (case-insensitive).

    A name counts with no letter or digit on either side. The pattern says so without lookaround,
    which Arrow's regex engine lacks: with it, pandas ran Python's re text by text (a large day's
    200,000 mentions: 510 ms for the brand and the competitors, 44 ms in Arrow).
    """
    if not names:
        return pd.Series(False, index=text.index)
    pattern = r"(?:^|[^A-Za-z0-9])[@#]?(?:" + "|".join(re.escape(n) for n in names) + r")(?:[^A-Za-z0-9]|$)"
    found = pc.match_substring_regex(pa.array(text.astype("string"), pa.large_string()), pattern, ignore_case=True)
    return pd.Series(pc.fill_null(found, False).to_numpy(zero_copy_only=False), index=text.index)


def to_staging(
    good: pd.DataFrame,
    family: str,
    source: str,
    *,
    tz: ZoneInfo,
    pii_key: bytes,
    load_id: str,
    brand: str = "",
    competitors: tuple[str, ...] = (),
    sentiment: SentimentModel | None = None,
    conn: sa.Connection | None = None,
) -> pd.DataFrame:
    """The staging rows of a validated batch, one per natural key (the latest version kept).

    Sentiment comes from `sentiment` (default: the default model), through the warehouse cache
    when a connection is given. Returns the frame and leaves counting duplicates to the caller
    (len(good) − len(result)).
    """
    df = good.copy()
    df["source"] = source
    time_col = TIME_COLUMN[family]
    df["version_at"] = df["updated_at"].fillna(df[time_col]) if family == "review" else df[time_col]
    df["feedback_date"] = df[time_col].dt.tz_convert(tz).dt.date
    if family == "review":
        for col in ("title", "body", "reply_text"):
            df[col] = redact(_blank_to_na(df[col]))
        title, body = df["title"], df["body"]
        df["text"] = (title + "\n" + body).fillna(body).fillna(title)
        df["author_hash"] = hash_ids(df["author"], pii_key)
    elif family == "mention":
        df["text"] = redact(_blank_to_na(df["text"]))
        df["author_hash"] = hash_ids(df["author"], pii_key)
        df["names_brand"] = _names(df["text"], (brand,) if brand else ())
        df["names_competitor"] = _names(df["text"], competitors)
    else:
        df["comment"] = redact(_blank_to_na(df["comment"]))
        df["text"] = df["comment"]
        df["respondent_hash"] = hash_ids(df["respondent"], pii_key)
    df["email_hash"] = hash_ids(df["email"], pii_key)
    df["customer_id_hash"] = hash_ids(df["customer_id"], pii_key)
    model = sentiment or get_model()
    scores = score_series(df["text"], model, WarehouseCache(conn, model) if conn is not None else None)
    df["sentiment_score"] = scores
    df["sentiment_label"] = label(scores)
    df["_load_id"] = load_id
    key = ID_COLUMN[family]
    df = df.sort_values(["version_at", "_file", "_line"], kind="stable")
    df = df.drop_duplicates(subset=[key], keep="last")
    return df[STAGING_COLUMNS[family]].reset_index(drop=True)

"""Sentiment scores cached in the warehouse (`ops.sentiment_cache`), keyed by text hash, model and version.

Nightly loads and backfills see the same texts again (edited reviews, reloaded files, retweets of
one complaint); the cache makes those a lookup. It lives in the warehouse, not in a local file,
so Airflow workers on different machines share it, and it is written in the load's transaction:
a failed load leaves no scores behind for texts it never staged. How texts are hashed and joined:
`text_cache.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from pipelines.enrich.sentiment import SentimentModel, score_distinct
from pipelines.enrich.text_cache import TextCache


class WarehouseCache:
    """Scores texts through the cache: look all up in one query, score and store only the new ones."""

    def __init__(self, conn: sa.Connection, model: SentimentModel) -> None:
        self.model = model
        self.cache = TextCache(conn, "ops.sentiment_cache", "score",
                               {"model": model.name, "model_version": model.version})

    def __call__(self, texts: pa.Array | Sequence[str]) -> np.ndarray:
        """One score per text, in order: cached ones from the warehouse, each new one scored once and stored."""
        values = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
        return self.cache.get(values, partial(score_distinct, self.model), float)

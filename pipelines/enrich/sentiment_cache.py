"""Sentiment scores cached in the warehouse (`ops.sentiment_cache`), keyed by text hash, model and version.

Nightly loads and backfills see the same texts again (edited reviews, reloaded files, retweets of
one complaint); the cache makes those a lookup. It lives in the warehouse, not in a local file,
so Airflow workers on different machines share it, and it is written in the load's transaction:
a failed load leaves no scores behind for texts it never staged.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import sqlalchemy as sa

from pipelines.enrich.sentiment import SentimentModel, score_texts
from pipelines.warehouse.db import frame_as_table, is_duckdb

_LOOKUP = (
    "select k.i, c.score from ops.sentiment_cache as c "
    "join cx_sentiment_keys as k on k.text_hash = c.text_hash "
    "where c.model = {model} and c.model_version = {version}"
)
_STORE = (
    "insert into ops.sentiment_cache (text_hash, model, model_version, score) "
    "select text_hash, model, model_version, score from cx_sentiment_new "
    "on conflict (text_hash, model, model_version) do nothing"  # a concurrent load scored it first: same value
)


def text_hashes(texts: list[str]) -> np.ndarray:
    """md5 hex of each text's UTF-8 bytes: a cache key, not a security measure."""
    md5 = hashlib.md5
    return np.array([md5(t.encode("utf-8"), usedforsecurity=False).hexdigest() for t in texts], dtype=object)


class WarehouseCache:
    """Scores distinct texts through the cache: look all up in one query, score and store only the new."""

    def __init__(self, conn: sa.Connection, model: SentimentModel) -> None:
        self.conn = conn
        self.model = model
        self.hits = 0
        self.misses = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        hashes = text_hashes(texts)
        scores = self._lookup(hashes)
        missing = np.flatnonzero(np.isnan(scores))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if len(missing):
            new = score_texts(self.model, [texts[i] for i in missing])
            scores[missing] = new
            self._store(pd.DataFrame({"text_hash": hashes[missing], "model": self.model.name,
                                      "model_version": self.model.version, "score": new}))
        return scores

    def _lookup(self, hashes: np.ndarray) -> np.ndarray:
        """The cached score of each hash, in order; NaN where there is none."""
        keys = pd.DataFrame({"text_hash": hashes, "i": np.arange(len(hashes), dtype=np.int64)})
        with frame_as_table(self.conn, keys, "cx_sentiment_keys"):
            if is_duckdb(self.conn):  # DuckDB hands the result over as arrays, not row by row
                duck = self.conn.connection.driver_connection
                found = duck.execute(_LOOKUP.format(model="?", version="?"),
                                     [self.model.name, self.model.version]).fetchnumpy()
                positions, values = np.asarray(found["i"]), np.asarray(found["score"], dtype=float)
            else:
                rows = self.conn.execute(sa.text(_LOOKUP.format(model=":model", version=":version")),
                                         {"model": self.model.name, "version": self.model.version}).all()
                positions = np.array([r[0] for r in rows], dtype=np.int64)
                values = np.array([r[1] for r in rows], dtype=float)
        scores = np.full(len(hashes), np.nan)
        scores[positions] = values
        return scores

    def _store(self, new: pd.DataFrame) -> None:
        with frame_as_table(self.conn, new, "cx_sentiment_new"):
            self.conn.exec_driver_sql(_STORE)

"""Sentiment scores cached in the warehouse (`ops.sentiment_cache`), keyed by text hash, model and version.

Nightly loads and backfills see the same texts again (edited reviews, reloaded files, retweets of
one complaint); the cache makes those a lookup. It lives in the warehouse, not in a local file,
so Airflow workers on different machines share it, and it is written in the load's transaction:
a failed load leaves no scores behind for texts it never staged.

The key is md5 of the UTF-8 text, computed by the warehouse itself (`md5()` gives the same hex in
DuckDB and PostgreSQL) while it joins: the texts go in as one column and no hash is computed
or moved row by row in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from pipelines.enrich.sentiment import SentimentModel, score_distinct
from pipelines.warehouse.db import frame_as_table, is_duckdb

ARROW_BATCH = 8_192  # DuckDB scans an Arrow table one batch per thread: small batches use every core
_LOOKUP = (
    "select k.i, c.score from cx_sentiment_keys as k "
    "join ops.sentiment_cache as c on c.text_hash = md5(k.text) "
    "where c.model = {model} and c.model_version = {version}"
)
_STORE = (
    "insert into ops.sentiment_cache (text_hash, model, model_version, score) "
    "select distinct md5(text), {model}, {version}, score from cx_sentiment_new "  # a repeated text once
    "on conflict (text_hash, model, model_version) do nothing"  # a concurrent load scored it first: same value
)


class WarehouseCache:
    """Scores texts through the cache: look all up in one query, score and store only the new ones."""

    def __init__(self, conn: sa.Connection, model: SentimentModel) -> None:
        self.conn = conn
        self.model = model
        self.hits = 0
        self.misses = 0

    def __call__(self, texts: pa.Array | Sequence[str]) -> np.ndarray:
        """One score per text, in order: cached ones from the warehouse, each new one scored once and stored."""
        values = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
        scores = self._lookup(values)
        missing = np.flatnonzero(np.isnan(scores))
        self.hits += len(values) - len(missing)
        self.misses += len(missing)
        if len(missing):
            new_texts = values.take(pa.array(missing))
            new = score_distinct(self.model, new_texts)
            scores[missing] = new
            self._store(new_texts, new)
        return scores

    def _params(self, duck: bool) -> tuple[dict[str, str], dict[str, str]]:
        """Placeholders for the model and its version, and their values, in the driver's style."""
        marks = {"model": "?", "version": "?"} if duck else {"model": ":model", "version": ":version"}
        return marks, {"model": self.model.name, "version": self.model.version}

    def _lookup(self, texts: pa.Array) -> np.ndarray:
        """The cached score of each text, in order; NaN where there is none."""
        keys = pa.table({"i": pa.array(np.arange(len(texts), dtype=np.int64)), "text": texts})
        duck = is_duckdb(self.conn)
        marks, params = self._params(duck)
        with _as_table(self.conn, keys, "cx_sentiment_keys"):
            if duck:  # DuckDB hands the result over as arrays, not row by row
                found = self.conn.connection.driver_connection.execute(
                    _LOOKUP.format(**marks), list(params.values())).fetchnumpy()
                positions, values = np.asarray(found["i"]), np.asarray(found["score"], dtype=float)
            else:
                rows = self.conn.execute(sa.text(_LOOKUP.format(**marks)), params).all()
                positions = np.array([r[0] for r in rows], dtype=np.int64)
                values = np.array([r[1] for r in rows], dtype=float)
        scores = np.full(len(texts), np.nan)
        scores[positions] = values
        return scores

    def _store(self, texts: pa.Array, scores: np.ndarray) -> None:
        duck = is_duckdb(self.conn)
        marks, params = self._params(duck)
        with _as_table(self.conn, pa.table({"text": texts, "score": scores}), "cx_sentiment_new"):
            if duck:
                self.conn.connection.driver_connection.execute(_STORE.format(**marks), list(params.values()))
            else:
                self.conn.execute(sa.text(_STORE.format(**marks)), params)


@contextmanager
def _as_table(conn: sa.Connection, table: pa.Table, name: str) -> Iterator[None]:
    """`frame_as_table` for an Arrow table: DuckDB scans it in place, batch by batch in parallel."""
    if not is_duckdb(conn):
        with frame_as_table(conn, table.to_pandas(), name):
            yield
        return
    duck = conn.connection.driver_connection
    duck.register(name, pa.Table.from_batches(table.to_batches(max_chunksize=ARROW_BATCH), table.schema))
    try:
        yield
    finally:
        duck.unregister(name)

"""Values computed from a text, cached in a warehouse table keyed by the text's hash plus a fixed key.

Sentiment scores (`ops.sentiment_cache`, key: model and version) and theme tags
(`ops.theme_cache`, key: taxonomy) share this. The hash is md5 of the UTF-8 text stored as a uuid
(16 bytes: migration 011), computed by the warehouse itself (`md5(text)::uuid` is the same value
in DuckDB and PostgreSQL) while it joins: texts go in as one Arrow column and no hash is computed
or moved row by row in Python. Rows are written in the caller's transaction, so a failed load
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from pipelines.warehouse.db import frame_as_table, is_duckdb


class TextCache:
    """Look up and store one value column of `table` per text, for the fixed `key` columns' values."""

    def __init__(self, conn: sa.Connection, table: str, value: str, key: dict[str, str]) -> None:
        self.conn = conn
        self.hits = 0  # texts found in the cache, and texts computed, over this object's life
        self.misses = 0
        self._duck = is_duckdb(conn)
        self._params = list(key.values()) if self._duck else key
        marks = ["?" if self._duck else f":{col}" for col in key]
        where = " and ".join(f"c.{col} = {mark}" for col, mark in zip(key, marks, strict=True))
        self._lookup = (f"select k.i, c.{value} as value from cx_text_keys as k "
                        f"join {table} as c on c.text_hash = md5(k.text)::uuid where {where}")
        # DuckDB's caches hold no key (migration 020): one process writes the file, and the texts
        # stored are those this transaction just looked up and missed. PostgreSQL's loads may run
        # side by side, so a text a concurrent load stored first is skipped there.
        conflict = "" if self._duck else f" on conflict (text_hash, {', '.join(key)}) do nothing"
        self._store = (f"insert into {table} (text_hash, {', '.join(key)}, {value}) "
                       f"select distinct md5(text)::uuid, {', '.join(marks)}, value from cx_text_new"  # a repeat once
                       + conflict)

    def get(self, texts: pa.Array, compute: Callable[[pa.Array], np.ndarray], dtype: type) -> np.ndarray:
        """Each text's value, in order: the cached ones in one query; the others computed by
        `compute` (given only the missing texts) and stored."""
        positions, found = self.lookup(texts)
        out = np.zeros(len(texts), dtype=dtype)
        out[positions] = found
        known = np.zeros(len(texts), dtype=bool)
        known[positions] = True
        missing = np.flatnonzero(~known)
        self.hits += len(positions)
        self.misses += len(missing)
        if len(missing):
            new_texts = texts.take(pa.array(missing))
            new = compute(new_texts)
            out[missing] = new
            self.store(new_texts, new)
        return out

    def lookup(self, texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
        """The positions in `texts` that have a cached value, and those values."""
        keys = pa.table({"i": pa.array(np.arange(len(texts), dtype=np.int64)), "text": texts})
        with frame_as_table(self.conn, keys, "cx_text_keys", once=True):
            if self._duck:  # DuckDB hands the result over as arrays, not row by row
                found = self.conn.connection.driver_connection.execute(self._lookup, self._params).fetchnumpy()
                return np.asarray(found["i"], dtype=np.int64), np.asarray(found["value"])
            rows = self.conn.execute(sa.text(self._lookup), self._params).all()
            return np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows])

    def store(self, texts: pa.Array, values: np.ndarray) -> None:
        """Cache `values[i]` for `texts[i]`; a text already cached keeps its value."""
        with frame_as_table(self.conn, pa.table({"text": texts, "value": values}), "cx_text_new", once=True):
            if self._duck:
                self.conn.connection.driver_connection.execute(self._store, self._params)
            else:
                self.conn.execute(sa.text(self._store), self._params)

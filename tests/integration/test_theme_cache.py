"""The theme tag cache in a real warehouse (DuckDB and PostgreSQL): tags from the cache are the tags
a fresh pass gives, each text is stored once, and any taxonomy edit re-keys it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from benchmarks.themes_speed import sample_texts
from pipelines.kpis.themes import DEFAULT_TAXONOMY, ThemeCache, load_taxonomy, tag
from pipelines.warehouse.db import make_engine, migrate


def test_cached_tags_equal_fresh_tags_and_a_taxonomy_edit_rekeys(warehouse_url, tmp_path):
    engine = make_engine(warehouse_url)
    migrate(engine)
    taxonomy = load_taxonomy()
    texts = [*sample_texts(300, seed=3), "nothing to see", "nothing to see"]
    feedback = pd.DataFrame({"feedback_id": [f"f{i}" for i in range(len(texts))] + ["blank"],
                             "feedback_date": date(2026, 3, 1), "text": [*texts, None]})
    fresh = tag(taxonomy, feedback)
    with engine.begin() as conn:
        cache = ThemeCache(conn, taxonomy)
        first = tag(taxonomy, feedback, cache)
        assert (cache.cache.hits, cache.cache.misses) == (0, len(texts))  # the null text is never looked up
    with engine.begin() as conn:
        cache = ThemeCache(conn, taxonomy)
        again = tag(taxonomy, feedback, cache)
        assert (cache.cache.hits, cache.cache.misses) == (len(texts), 0)
        stored = conn.execute(sa.text("select count(*), count(distinct taxonomy) from ops.theme_cache")).one()
        assert tuple(stored) == (len(set(texts)), 1)
    for result in (first, again):
        for got, want in zip(result, fresh, strict=True):
            pd.testing.assert_frame_equal(got, want)

    edited = tmp_path / "themes.yml"  # one more phrase, same version string: still a new key
    edited.write_text(DEFAULT_TAXONOMY.read_text().replace("phrases: [delivery,", "phrases: [hamper, delivery,"))
    other = load_taxonomy(edited)
    assert other.version == taxonomy.version and other.key != taxonomy.key
    with engine.begin() as conn:
        cache = ThemeCache(conn, other)
        hits = cache(pa.array(["a hamper came"]))
        assert cache.cache.misses == 1 and np.array_equal(hits, other.hits(pa.array(["a hamper came"])))
    engine.dispose()

"""While one source loads, the helper parses the next source's first file (pipelines/sources/reader.py)."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.helpers import running, stop_helpers
from pipelines.sources import reader
from tests.integration.test_star_schema import make_star
from tests.unit.test_reader import POSTS_IN_FILE, few_posts, open_in_helper, posts_file

D = date(2026, 3, 12)
SOURCES = "timezone: UTC\nbrand: Acme\nsources:\n" + "".join(
    f"  - {{name: {name}, family: mention, format: x_jsonl, path: \"{{landing}}/{name}/{{date}}/*.jsonl\"}}\n"
    for name in ("big", "s1", "s2", "s3"))


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    stop_helpers()
    pipeline = make_star(tmp_path, f"duckdb:///{tmp_path}/warehouse.duckdb", monkeypatch, SOURCES)
    yield pipeline
    stop_helpers()
    pipeline.engine.dispose()


def test_the_next_source_s_file_is_parsed_ahead_and_one_the_ledger_skips_is_closed(pipeline, monkeypatch):
    files = {}
    for name in ("big", "s1", "s2", "s3"):
        folder = pipeline.settings.landing_dir / name / D.isoformat()
        folder.mkdir(parents=True)
        files[name] = posts_file(folder) if name == "big" else few_posts(folder, f"{name}.jsonl")
    s3 = pipeline.config.sources[3]
    assert pipeline.load_source(D, s3, pipeline.start_run(D)).rows_loaded == 3  # loaded before: skipped next
    run_id = pipeline.start_run(D)
    started, real = [], reader._start

    def spy(helper, fmt, path, source, tz):
        started.append(path)
        return real(helper, fmt, path, source, tz)

    monkeypatch.setattr(reader, "_start", spy)
    results = pipeline._load_all(D, pipeline.config.sources, run_id, None)

    assert [r.rows_loaded for r in results] == [POSTS_IN_FILE, 3, 3, 0]
    assert "not loaded again" in results[3].message
    # big starts the helper with its own read; before s1 loads, s2 is parsed ahead (s1, one batch, was
    # not: no helper ran yet), before s2, s3; s2 is then read from what was parsed ahead, not started again
    assert started == [files["big"], files["s2"], files["s3"]]
    running()[reader.HELPER].submit(int).result()  # the helper has done what it was sent
    assert reader._AHEAD == {} and not open_in_helper(files["s3"])  # skipped: closed in the helper

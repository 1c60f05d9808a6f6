"""While one source loads, the helper parses the next source's first file (pipelines/sources/reader.py)."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.helpers import running, stop_helpers
from pipelines.sources import reader
from pipelines.validate import gx
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

    def spy(helper, fmt, path, source, tz, *batches):
        started.append(path)
        return real(helper, fmt, path, source, tz, *batches)

    monkeypatch.setattr(reader, "_start", spy)
    results = pipeline._load_all(D, pipeline.config.sources, run_id, None)

    assert [r.rows_loaded for r in results] == [POSTS_IN_FILE, 3, 3, 0]
    assert "not loaded again" in results[3].message
    # big, asked for before its suite is read, starts the helper; so s1, one batch, is parsed ahead before
    # big loads, s2 before s1, s3 before s2; each is then read from what was parsed ahead, not started again
    assert started == [files["big"], files["s1"], files["s2"], files["s3"]]
    running()[reader.HELPER].submit(int).result()  # the helper has done what it was sent
    assert reader._AHEAD == {} and not open_in_helper(files["s3"])  # skipped: closed in the helper


def test_the_first_file_is_parsed_while_this_process_reads_the_first_suite(pipeline, monkeypatch):
    folder = pipeline.settings.landing_dir / "big" / D.isoformat()
    folder.mkdir(parents=True)
    big = posts_file(folder)
    seen, real = [], gx.load_suite

    def reading(name):  # what the helper was already asked for when the suite (and GX) is read
        seen.append((name, list(reader._AHEAD)))
        return real(name)

    monkeypatch.setattr(gx, "load_suite", reading)
    results = pipeline._load_all(D, pipeline.config.sources[:1], pipeline.start_run(D), None)

    assert seen[0] == ("mention", [big])  # the first read, before the load's own
    assert results[0].rows_loaded == POSTS_IN_FILE and reader._AHEAD == {}


def test_a_suite_that_cannot_be_read_closes_the_file_started_ahead(pipeline, monkeypatch):
    folder = pipeline.settings.landing_dir / "big" / D.isoformat()
    folder.mkdir(parents=True)
    big = posts_file(folder)

    def broken(name):
        raise ValueError(f"expectations/{name}.json: unreadable")

    monkeypatch.setattr(gx, "load_suite", broken)
    with pytest.raises(ValueError, match="mention.json"):
        pipeline._load_all(D, pipeline.config.sources[:1], pipeline.start_run(D), None)

    assert reader.HELPER in running()  # started for big, asked for ahead of the suite
    assert reader._AHEAD == {}
    running()[reader.HELPER].submit(int).result()
    assert not open_in_helper(big)

"""Data quality on a real warehouse: quarantine lineage, table-level checks, mart checks that
block publishing, row accounting (and its mismatch path), and replay after a config fix."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

import pipelines.run
from pipelines.config import QualityConfig
from pipelines.errors import RunError
from pipelines.quality.quarantine import list_quarantine, quarantine_id, replay, show_quarantine
from tests.integration.conftest import DAY

D = date.fromisoformat(DAY)


def scalar(pipeline, sql: str, **params):
    with pipeline.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def with_source(pipeline, name: str, **changes) -> None:
    """Reconfigure one source in place, as an edited sources.yml would."""
    sources = tuple(dataclasses.replace(s, **changes) if s.name == name else s for s in pipeline.config.sources)
    pipeline.config = dataclasses.replace(pipeline.config, sources=sources)


def write_posts(pipeline, day: date, posts: list[dict], name: str = "posts.jsonl") -> None:
    folder = pipeline.settings.landing_dir / "x" / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(json.dumps(p) for p in posts) + "\n", encoding="utf-8")


def post(i: int, day: date, **extra) -> dict:
    return {"id": f"18{i:017d}", "text": f"post {i} about @Acme", "created_at": f"{day}T12:00:00.000Z",
            "author_id": f"u{i}", "lang": "en", **extra}


def test_quarantined_row_names_expectation_column_file_line_and_raw_record(tiny):
    tiny.run_day(D)
    rows, total = list_quarantine(tiny.engine, source="nps_survey")
    assert total == 1
    (row,) = rows
    full = show_quarantine(tiny.engine, row.quarantine_id)
    assert full.file.endswith("export.csv") and full.line == 16 and full.item == 0
    assert full.expectation == "expect_column_values_to_be_between" and full.column_name == "nps"
    assert full.reason == "nps: expect_column_values_to_be_between [0, 10]"
    assert json.loads(full.raw_record)["ResponseId"] == "R_bad"
    assert full.quarantine_id == quarantine_id("nps_survey", full.file, 16, 0)


def test_posts_sharing_one_line_are_quarantined_apart(tiny):
    page = {"data": [post(1, D, text=None), post(2, D, text=None), post(3, D)], "meta": {"result_count": 3}}
    write_posts(tiny, D, [page], "page.jsonl")
    summary = tiny.run_day(D)
    x = next(s for s in summary.sources if s.source == "x")
    assert (x.rows_in, x.rows_loaded, x.rows_quarantined) == (6, 4, 2)
    with tiny.engine.connect() as conn:
        items = conn.execute(sa.text(
            "select line, item from ops.quarantine where source = 'x' order by item")).all()
    assert [tuple(r) for r in items] == [(1, 0), (1, 1)]


def test_duplicates_across_files_of_a_day_and_reruns_are_counted(tiny):
    write_posts(tiny, D, [post(0, D), post(0, D)], "page2.jsonl")  # a repeated item, twice on a later page
    tiny.run_day(D)
    tiny.run_day(D)
    with tiny.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from ops.row_accounting "
            "where source = 'x' order by rows_loaded desc")).all()
    # first run: 3 posts + 2 copies of a new one = 5 in; 4 loaded, 1 duplicate within the file
    # second run: the file ledger knows both files unchanged, so nothing is read again
    assert [tuple(r) for r in rows] == [(5, 4, 0, 1), (0, 0, 0, 0)]


def test_accounting_mismatch_fails_the_run_and_commits_nothing_of_the_source(tiny, monkeypatch):
    real = pipelines.run.to_staging

    def loses_a_row(good, family, *args, **kwargs):
        staged = real(good, family, *args, **kwargs)
        return staged.iloc[1:] if family == "review" else staged

    monkeypatch.setattr(pipelines.run, "to_staging", loses_a_row)
    with pytest.raises(RunError, match=r"trustpilot: row accounting does not balance: 4 in, but 3 loaded"):
        tiny.run_day(D, sources=["trustpilot"])
    assert scalar(tiny, "select count(*) from staging.stg_review") == 0
    assert scalar(tiny, "select count(*) from ops.row_accounting where source = 'trustpilot'") == 0
    assert scalar(tiny, "select status from ops.runs") == "failed"


def test_required_column_missing_entirely_fails_the_source_with_a_clear_message(tiny):
    write_posts(tiny, D, [{k: v for k, v in post(i, D).items() if k != "id"} for i in range(3)])
    summary = tiny.run_day(D)
    (failed,) = summary.failed
    assert failed.source == "x"
    assert "required column mention_id (the id) is missing entirely: none of 3 rows has a value" in failed.message
    assert scalar(tiny, "select count(*) from ops.quarantine where source = 'x'") == 0  # rolled back


def test_volume_against_trailing_median(tiny):
    tiny.config = dataclasses.replace(tiny.config, quality=QualityConfig(
        volume_min_history_days=2, volume_floor_rows=3, volume_drop_ratio=0.5))
    for back in (2, 1):
        day = D - timedelta(days=back)
        write_posts(tiny, day, [post(i + 10 * back, day) for i in range(4)])
        tiny.run_day(day, sources=["x"])
    # history 4, 4 rows a day: median 4; 1 row is a drop (warning), no file at all is critical
    write_posts(tiny, D, [post(99, D)])
    summary = tiny.run_day(D, sources=["x"])
    assert not summary.failed
    assert scalar(tiny, "select success from ops.validation_results where run_id = :r and suite = 'mention_table' "
                        "and column_name = 'row_count' and severity = 'warning'", r=summary.run_id) is False
    later = D + timedelta(days=1)
    summary = tiny.run_day(later, sources=["x"])
    (failed,) = summary.failed
    assert failed.message.endswith("no rows for the day, but the trailing median is 4 rows a day")


def test_table_checks_count_the_profile_row_and_unknown_freshness_warns(tiny):
    later = D + timedelta(days=3)  # every post from the future: quarantined, so no usable item time
    write_posts(tiny, D, [post(i, later) for i in range(3)])
    summary = tiny.run_day(D, sources=["x"])
    assert not summary.failed
    with tiny.engine.connect() as conn:
        rows = {r.column_name: r for r in conn.execute(sa.text(
            "select column_name, success, unexpected_count, element_count from ops.validation_results "
            "where run_id = :r and suite = 'mention_table' and severity = 'warning'"), {"r": summary.run_id})}
    fresh = rows.pop("freshness_hours")
    assert (fresh.success, fresh.unexpected_count, fresh.element_count) == (False, 1, 1)
    assert {(r.success, r.unexpected_count, r.element_count) for r in rows.values()} == {(True, 0, 1)}


def test_critical_mart_failure_rolls_back_and_publishes_nothing(tiny):
    tiny.run_day(D)
    report = tiny.settings.reports_dir / DAY / f"cx_report_{DAY}.html"
    report.unlink()
    with tiny.engine.begin() as conn:  # a scoring bug staged a new version with a score outside [-1, 1]
        conn.execute(sa.text("update staging.stg_review set sentiment_score = 5, _load_id = 'rescored' "
                             "where review_id = 'tp0'"))
        conn.execute(sa.text("insert into ops.dirty_dates (feedback_date) values (:d)"), {"d": D})
        before = conn.execute(sa.text("select count(*) from marts.kpi_daily")).scalar_one()
    with pytest.raises(RunError, match=r"marts.fct_feedback: sentiment_score: expect_column_values_to_be_between"):
        tiny.run_day(D)
    assert not report.exists()
    assert scalar(tiny, "select count(*) from ops.dirty_dates") == 1  # still pending: nothing committed
    assert scalar(tiny, "select count(*) from marts.kpi_daily") == before
    assert scalar(tiny, "select max(sentiment_score) from marts.fct_feedback") <= 1


def test_the_facts_suite_runs_on_its_own_thread_while_the_kpis_are_computed(tiny, monkeypatch):
    """GX takes a second or two over a large day's facts; the KPI stage's statements run meanwhile (a
    failure still publishes nothing: the test above)."""
    from pipelines.quality import marts

    kpis_started, seen = threading.Event(), {}
    real_suite, real_kpis = marts.run_suite, pipelines.run.update_kpis

    def suite(checked, frame, parameters):
        if checked.name == "fct_feedback":
            seen["thread"] = threading.current_thread()
            seen["kpis_meanwhile"] = kpis_started.wait(timeout=10)
        return real_suite(checked, frame, parameters)

    def kpis(*args, **kwargs):
        kpis_started.set()
        return real_kpis(*args, **kwargs)

    monkeypatch.setattr(marts, "run_suite", suite)
    monkeypatch.setattr(pipelines.run, "update_kpis", kpis)
    summary = tiny.run_day(D)
    assert seen["kpis_meanwhile"] and seen["thread"] is not threading.main_thread()
    with tiny.engine.connect() as conn:  # its results recorded as before
        assert conn.execute(sa.text(
            "select count(*), bool_and(success) from ops.validation_results where run_id = :r "
            "and suite = 'fct_feedback' and severity = 'critical'"), {"r": summary.run_id}).one() == (13, True)


def test_a_second_staged_row_for_one_key_never_reaches_the_report(tiny):
    """Staging keeps one row per key by its merge. DuckDB's staging tables hold no key index
    (migration 020), so a second row written by hand is stored, reaches the facts and fails the
    uniqueness check of fct_feedback: the build rolls back. PostgreSQL's key refuses the row."""
    tiny.run_day(D)
    report = tiny.settings.reports_dir / DAY / f"cx_report_{DAY}.html"
    report.unlink()
    copy = "insert into staging.stg_review select * from staging.stg_review where review_id = 'tp0'"
    if tiny.engine.dialect.name != "duckdb":
        with pytest.raises(sa.exc.IntegrityError), tiny.engine.begin() as conn:
            conn.execute(sa.text(copy))
        return
    with tiny.engine.begin() as conn:  # a new staged version, so that the build rewrites tp0's fact
        conn.execute(sa.text(copy))
        conn.execute(sa.text("update staging.stg_review set _load_id = 'copied' where review_id = 'tp0'"))
        conn.execute(sa.text("insert into ops.dirty_dates (feedback_date) values (:d)"), {"d": D})
    with pytest.raises(RunError, match=r"marts.fct_feedback: feedback_id: expect_column_values_to_be_unique"):
        tiny.run_day(D)
    assert not report.exists()
    assert scalar(tiny, "select count(*) from marts.fct_feedback where feedback_id like '%tp0'") == 1


def test_mart_warnings_are_recorded_for_the_report(tiny):
    summary = tiny.run_day(D)
    with tiny.engine.connect() as conn:
        suites = set(conn.execute(sa.text(
            "select distinct suite from ops.validation_results where run_id = :r"), {"r": summary.run_id}).scalars())
    assert {"review", "mention", "survey", "review_table", "fct_feedback", "kpi_daily"} <= suites


def test_replay_after_a_mapping_fix_loads_fixed_rows_and_keeps_bad_ones(tiny):
    with_source(tiny, "nps_survey", fields={**tiny.config.select(["nps_survey"])[0].fields, "csat": "Q1"})
    first = tiny.run_day(D, sources=["nps_survey"])
    survey = first.sources[0]
    # csat read from the NPS column: 10, 9, 9, 8, 7, 6, 10, 0 (R_00..R_05, R_08, R_09), R_late 0, the
    # second R_00 (10) and R_bad (11) are out of 1..5; R_06 (5) and R_07 (3) load
    assert (survey.rows_loaded, survey.rows_quarantined) == (2, 11)

    with_source(tiny, "nps_survey", fields={**tiny.config.select(["nps_survey"])[0].fields, "csat": "Q2"})
    result = replay(tiny, ["nps_survey"])
    # 9 distinct responses load, the repeated R_00 is a duplicate, R_bad (NPS 11) stays
    assert (result.replayed, result.loaded, result.duplicate, result.still_quarantined) == (11, 9, 1, 1)
    with tiny.engine.connect() as conn:
        staged = set(conn.execute(sa.text("select response_id from staging.stg_survey_response")).scalars())
        left = conn.execute(sa.text("select raw_record, reason from ops.quarantine")).all()
        acct = conn.execute(sa.text(
            "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from ops.row_accounting "
            "where run_id like '%-replay-%'")).one()
    assert staged == {f"R_{i:02d}" for i in range(10)} | {"R_late"}
    assert [json.loads(r.raw_record)["ResponseId"] for r in left] == ["R_bad"]
    assert left[0].reason == "nps: expect_column_values_to_be_between [0, 10]"  # csat 5 is fine now
    assert tuple(acct) == (11, 9, 1, 1)

    again = replay(tiny)
    assert (again.replayed, again.loaded, again.still_quarantined) == (1, 0, 1)


def test_replay_leaves_rows_whose_file_is_gone(tiny):
    tiny.run_day(D)
    (tiny.settings.landing_dir / "qualtrics" / DAY / "export.csv").unlink()
    result = replay(tiny)
    assert result.replayed == 0 and "is gone" in result.not_found[0]
    assert scalar(tiny, "select count(*) from ops.quarantine") == 1


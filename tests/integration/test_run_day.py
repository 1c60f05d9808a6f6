"""One business day end to end on a real warehouse (DuckDB and PostgreSQL), KPIs by hand."""

from __future__ import annotations

import hashlib
import json
import math
import os
from datetime import date

import pytest
import sqlalchemy as sa

from pipelines.warehouse.db import make_engine, marts_transaction
from tests.integration.conftest import DAY

D = date.fromisoformat(DAY)
Z = 1.959964
MART_TABLES = ["dim_date", "dim_source", "fct_review", "fct_mention", "fct_survey_response", "fct_feedback",
               "kpi_daily"]


def kpi(conn, metric, window=1, segment_type="all", segment_value="all", day=D):
    row = conn.execute(sa.text(
        "select value, sample_size, ci_low, ci_high from marts.kpi_daily where kpi_date = :d and "
        "window_days = :w and metric = :m and segment_type = :t and segment_value = :v"),
        {"d": day, "w": window, "m": metric, "t": segment_type, "v": segment_value}).one_or_none()
    return row


def checksums(engine) -> dict[str, str]:
    """A digest of every mart table's full contents, in a stable order."""
    out = {}
    with engine.connect() as conn:
        for table in MART_TABLES:
            rows = conn.execute(sa.text(f"select * from marts.{table} order by 1, 2, 3, 4, 5")).all() \
                if table == "kpi_daily" else conn.execute(sa.text(f"select * from marts.{table} order by 1")).all()
            out[table] = hashlib.sha256(json.dumps([list(map(str, r)) for r in rows]).encode()).hexdigest()
    return out


def test_nps_and_csat_match_hand_computation(tiny):
    summary = tiny.run_day(D)
    assert not summary.failed
    with tiny.engine.connect() as conn:
        value, n, low, high = kpi(conn, "nps")
        half = 100 * Z * math.sqrt(0.8 / 10)  # p = d = 0.4
        assert (value, n) == (0.0, 10)
        assert (low, high) == pytest.approx((-half, half))

        # 7-day window: the late response from D-1 (a detractor) joins: P 4, D 5, n 11
        value, n, low, high = kpi(conn, "nps", window=7)
        p, d = 4 / 11, 5 / 11
        half = 100 * Z * math.sqrt((p + d - (p - d) ** 2) / 11)
        assert n == 11 and value == pytest.approx(-100 / 11)
        assert (low, high) == pytest.approx((-100 / 11 - half, -100 / 11 + half))

        # CSAT top-2-box 7 of 10, Wilson: centre 0.644490, half-width 0.247718 (worked by hand)
        value, n, low, high = kpi(conn, "csat")
        assert (value, n) == (pytest.approx(70.0), 10)
        assert (low, high) == pytest.approx((39.6772, 89.2208), abs=1e-3)

        value, n, low, high = kpi(conn, "avg_rating")
        half = Z * math.sqrt(3) / 2  # 5, 4, 4, 1: mean 3.5, sample variance 3
        assert (value, n) == (3.5, 4) and (low, high) == pytest.approx((3.5 - half, 3.5 + half))
        assert kpi(conn, "review_count")[:2] == (4.0, 4)
        assert kpi(conn, "mention_count")[:2] == (3.0, 3)
        assert kpi(conn, "reply_rate")[0] == pytest.approx(25.0)
        assert kpi(conn, "share_of_voice")[:2] == (pytest.approx(200 / 3), 3)  # Acme 2, Globex 1
        assert kpi(conn, "nps", segment_type="source", segment_value="nps_survey")[:2] == (0.0, 10)
        assert kpi(conn, "ces") is None  # nobody answered CES: absent, not zero

        pos, neg, net = (kpi(conn, m) for m in ("positive_share", "negative_share", "net_sentiment"))
        assert net[0] == pytest.approx(pos[0] - neg[0]) and net[1] == pos[1] == neg[1]
        windows = conn.execute(sa.text(
            "select distinct window_days from marts.kpi_daily where kpi_date = :d order by 1"), {"d": D}).scalars()
        assert list(windows) == [1, 7, 28]


def test_late_items_belong_to_their_own_day_and_rows_are_accounted(tiny):
    tiny.run_day(D)
    with tiny.engine.connect() as conn:
        late = conn.execute(sa.text(
            "select feedback_date from marts.fct_survey_response where response_id = 'R_late'")).scalar_one()
        assert late == date(2026, 3, 9)
        acct = conn.execute(sa.text(
            "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from ops.row_accounting "
            "where source = 'nps_survey'")).one()
        assert tuple(acct) == (13, 11, 1, 1)
        line, reason = conn.execute(sa.text(
            "select line, reason from ops.quarantine where source = 'nps_survey'")).one()
        assert line == 16 and "nps" in reason
        text = " ".join(str(v) for v in conn.execute(sa.text(
            "select * from marts.fct_survey_response")).all())
        assert "mail.example" not in text  # respondents are hashed before the marts


def test_same_day_twice_changes_no_mart(tiny):
    tiny.run_day(D)
    first = checksums(tiny.engine)
    second_run = tiny.run_day(D)
    assert checksums(tiny.engine) == first
    survey = next(s for s in second_run.sources if s.source == "nps_survey")
    # the file ledger knows export.csv is unchanged: it is not read again
    assert (survey.status, survey.rows_in, survey.rows_loaded) == ("success", 0, 0)
    assert "export.csv: already loaded" in survey.message
    with tiny.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from ops.quarantine")).scalar_one() == 1
        raw = conn.execute(sa.text("select count(*) from raw.nps_survey")).scalar_one()
        assert raw == 13  # the first load's raw rows, once


def test_an_edited_review_replaces_its_earlier_version_and_its_day_is_recomputed(tiny, tmp_path):
    tiny.run_day(D)
    edited = [{"id": "tp3", "stars": 3, "title": "Better now", "text": "They sorted it out in the end.",
               "language": "en", "createdAt": f"{DAY}T13:00:00.000Z", "updatedAt": "2026-03-11T09:00:00.000Z",
               "consumer": {"id": "c3", "displayName": "Customer 3"}, "businessUnit": {"id": "bu1"},
               "status": "active", "verificationLevel": "verified", "reply": None}]
    folder = tiny.settings.landing_dir / "trustpilot" / "2026-03-11"
    folder.mkdir(parents=True)
    (folder / "reviews.json").write_text(json.dumps(edited))
    tiny.run_day(date(2026, 3, 11))
    with tiny.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from marts.fct_review")).scalar_one() == 4
        value, n, _, _ = kpi(conn, "avg_rating", day=D)  # 5, 4, 4, 3 now
        assert (value, n) == (4.0, 4)


def test_a_broken_source_fails_alone(tiny):
    (tiny.settings.landing_dir / "trustpilot" / DAY / "reviews.json").write_text('[{"id": "tp9", "stars": ')
    summary = tiny.run_day(D)
    assert [s.source for s in summary.failed] == ["trustpilot"]
    assert "reviews.json" in summary.failed[0].message
    with tiny.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from marts.fct_review")).scalar_one() == 0
        assert kpi(conn, "nps")[:2] == (0.0, 10)  # the other sources still loaded
        status = conn.execute(sa.text(
            "select status from ops.runs where run_id = :r"), {"r": summary.run_id}).scalar_one()
        assert status == "failed"


def test_a_source_day_commits_its_rows_drift_and_run_record_once(tiny):
    """A backfill loads thousands of source-days: each is one transaction, its run record included."""
    commits = []
    sa.event.listen(tiny.engine, "commit", lambda conn: commits.append(conn))
    run_id = tiny.start_run(D)
    commits.clear()
    source = next(s for s in tiny.config.sources if s.name == "trustpilot")
    result = tiny.load_source(D, source, run_id)
    assert result.status == "success" and result.rows_in == 4
    assert len(commits) == 1
    with tiny.engine.connect() as conn:
        assert conn.execute(sa.text("select status from ops.source_runs where run_id = :r and source = 'trustpilot'"),
                            {"r": run_id}).scalar_one() == "success"


def test_the_marts_start_from_a_fresh_duckdb_instance(tiny):
    """DuckDB frees what the loads cached only when its last connection closes: build_marts closes
    the pooled ones first (a large day's loads left about 360 MB). PostgreSQL keeps its pool."""
    run_id = tiny.start_run(D)
    for source in tiny.config.sources:
        tiny.load_source(D, source, run_id)
    closed = []
    sa.event.listen(tiny.engine.pool, "close", lambda dbapi_conn, record: closed.append(record))
    tiny.build_marts(D, run_id)
    if tiny.engine.dialect.name == "duckdb":
        assert closed  # the loads' connections closed: the instance and its cache went with them
    else:
        assert closed == []
    with tiny.engine.connect() as conn:  # and the marts were built on the reopened file
        assert conn.execute(sa.text("select count(*) from marts.fct_feedback")).scalar_one() > 0


def test_the_marts_transaction_settings_postgres_work_mem_and_jit_duckdb_one_thread(tiny, monkeypatch):
    """PostgreSQL: work_mem and JIT for the marts transaction only. DuckDB: one thread for it
    (each thread's insert keeps its partial row groups until commit), then the database's own."""
    import pipelines.run

    seen = []
    real = pipelines.run.build_star

    def build_star(conn, *args, **kwargs):
        if conn.dialect.name == "postgresql":
            seen.append(conn.execute(sa.text("select current_setting('jit'), current_setting('work_mem')")).one())
        else:
            seen.append(tuple(conn.exec_driver_sql(
                "select (select value from duckdb_settings() where name = 'allocator_flush_threshold'), "
                "current_setting('threads')").one()))
        return real(conn, *args, **kwargs)

    def server_settings(**settings: str) -> None:
        """Set the database's own settings; sessions opened afterwards start from them."""
        with tiny.engine.begin() as conn:
            database = conn.execute(sa.text("select current_database()")).scalar_one()
            for name, value in settings.items():
                conn.exec_driver_sql(f"alter database {database} set {name} = '{value}'")
        tiny.engine.dispose()

    monkeypatch.setattr(pipelines.run, "build_star", build_star)
    postgres = tiny.engine.dialect.name == "postgresql"
    if postgres:  # what the server gives a session, whatever this server's configuration says
        server_settings(jit="on", work_mem="4MB")
    tiny.run_day(D)
    if not postgres:
        assert seen == [("7.6 MiB", 1)]  # DuckDB: the engine's allocator setting, one thread
        return
    assert seen == [("off", "128MB")]
    with tiny.engine.begin() as conn:  # SET LOCAL: the settings ended with the transaction
        assert conn.execute(sa.text("select current_setting('jit'), current_setting('work_mem')")).one() \
            == ("on", "4MB")
        conn.execute(sa.text("insert into ops.dirty_dates (feedback_date) values (:d)"), {"d": D})
    server_settings(work_mem="256MB")
    tiny.build_marts(D)
    assert seen[-1] == ("off", "256MB")  # an operator's larger work_mem stays


def test_the_mart_stage_returns_freed_heap_pages_before_and_between_its_steps(tiny, monkeypatch):
    """build_marts calls memory.release_freed (tested in tests/unit/test_memory.py) before its
    transaction, after the star schema and after the KPIs."""
    import pipelines.run

    calls = []
    real = pipelines.run.release_freed
    monkeypatch.setattr(pipelines.run, "release_freed", lambda: calls.append(len(calls)) or real())
    tiny.run_day(D)
    assert calls == [0, 1, 2]


def test_the_loads_parse_in_a_helper_that_the_mart_stage_stops(tiny, monkeypatch):
    """The helper (tests/unit/test_reader.py) would otherwise hold the loads' memory beside the marts'."""
    import psutil

    import pipelines.run
    from pipelines.helpers import running
    from pipelines.sources import reader

    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # a one-core machine starts helpers too
    monkeypatch.setattr(reader, "AHEAD_FROM", 0)  # and the day's small files go to the helper
    pids = []
    real = pipelines.run.stop_helpers

    def stop_helpers() -> None:
        pids.extend(running()["reader"]._processes)
        real()

    monkeypatch.setattr(pipelines.run, "stop_helpers", stop_helpers)
    tiny.run_day(D)
    assert pids and not running()
    assert not any(psutil.pid_exists(pid) for pid in pids)


def test_the_duckdb_marts_transaction_puts_its_settings_back_and_a_url_setting_wins(tmp_path):
    """One thread and DuckDB's vacuum for the marts; the database's own values after, also after
    a failure; a value in the warehouse URL is kept throughout."""
    settings = "select current_setting('threads'), current_setting('max_vacuum_tasks')"
    engine = make_engine(f"duckdb:///{tmp_path / 'w.duckdb'}")
    pinned = make_engine(f"duckdb:///{tmp_path / 'p.duckdb'}?threads=2&max_vacuum_tasks=7")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("set threads = 3")  # the database's setting, not the session's
            assert tuple(conn.exec_driver_sql(settings).one()) == (3, 0)  # the loads' checkpoints do not vacuum
        with pytest.raises(RuntimeError), marts_transaction(engine) as conn:
            assert tuple(conn.exec_driver_sql(settings).one()) == (1, 100)
            raise RuntimeError("a failed build")
        with engine.connect() as conn:
            assert tuple(conn.exec_driver_sql(settings).one()) == (3, 0)
        with marts_transaction(pinned) as conn:
            assert tuple(conn.exec_driver_sql(settings).one()) == (2, 7)
    finally:
        engine.dispose()
        pinned.dispose()


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)
def test_a_load_committing_during_a_marts_build_keeps_its_date_dirty(tiny, monkeypatch):
    """Parallel backfill runs on PostgreSQL: a load commits a new review of day D while a build
    that already read D as dirty is still running. The build must not clear D: its mark rose.
    (A DuckDB warehouse has one writing process, under the warehouse lock: no load runs meanwhile.)"""
    import pipelines.run

    tiny.run_day(D, deliver=False)
    with tiny.engine.begin() as conn:  # D dirty again (mark 0), as after any load
        conn.execute(sa.text("insert into ops.dirty_dates (feedback_date) values (:d)"), {"d": D})
    late = {"id": "tp_late", "stars": 2, "title": "Late", "text": "Arrived late.", "language": "en",
            "createdAt": f"{DAY}T21:00:00.000Z", "updatedAt": None, "consumer": {"id": "c9", "displayName": "C 9"},
            "businessUnit": {"id": "bu1"}, "status": "active", "verificationLevel": "verified", "reply": None}
    (tiny.settings.landing_dir / "trustpilot" / DAY / "late.json").write_text(json.dumps([late]), encoding="utf-8")
    source = next(s for s in tiny.config.sources if s.name == "trustpilot")
    update_kpis = pipelines.run.update_kpis

    def load_meanwhile(conn, *args, **kwargs):  # the facts are built; the dirty dates not yet cleared
        assert tiny.load_source(D, source, tiny.start_run(D)).rows_in == 1
        return update_kpis(conn, *args, **kwargs)

    monkeypatch.setattr(pipelines.run, "update_kpis", load_meanwhile)
    tiny.build_marts(D)
    monkeypatch.setattr(pipelines.run, "update_kpis", update_kpis)

    def stored():
        with tiny.engine.connect() as conn:
            return (conn.execute(sa.text("select feedback_date, mark from ops.dirty_dates")).all(),
                    conn.execute(sa.text("select count(*) from marts.fct_review where review_id = 'tp_late'")).scalar())

    assert stored() == ([(D, 1)], 0)  # the load raised D's mark; the build had not read its review
    tiny.build_marts(D)
    assert stored() == ([], 1)

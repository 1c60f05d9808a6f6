"""`cx backfill` as a user runs it, on DuckDB and PostgreSQL: chunked, resumable after a SIGKILL,
with progress lines (days done, rows/s, ETA) when the output is not a terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.warehouse.db import make_engine
from tests.integration.test_star_schema import D1, SOURCES, make_star, write_day

ROOT = Path(__file__).parents[2]
D3 = D1 + timedelta(days=2)


def cx(env: dict[str, str], *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines", "backfill", "--start", str(D1), "--end", str(D3),
                             "--chunk-days", "2", *args], env={**env, **extra}, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def done(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    return out


def test_backfill_resumes_after_a_kill_and_reports_progress(tmp_path, warehouse_url):
    landing = tmp_path / "landing"
    for i in range(3):
        day = D1 + timedelta(days=i)
        write_day(landing, day, reviews=[(f"tp{i}", 1 + i, f"A{i}", f"C{i}")],
                  responses=[(f"R_{i}", f"p{i}@mail.example", f"C{i}", 5 + i), (f"R_{i}b", "", "", 9)])
    config = tmp_path / "sources.yml"
    config.write_text(SOURCES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_LANDING_DIR=str(landing), CX_WAREHOUSE_URL=warehouse_url,
               CX_PII_KEY="backfill-key", CX_CONFIG=str(config))

    # killed after its first chunk (days 1 and 2) is built
    victim = cx(env, CX_PAUSE_AT="backfill-chunk")
    marker = tmp_path / "home" / "paused-backfill-chunk"
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert victim.poll() is None and time.monotonic() < deadline, victim.communicate()
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    out = done(cx(env))
    assert f"backfill {D1}..{D3}: 1 days run, 2 skipped, 3 rows in" in out  # day 3: one review, two responses
    # not a terminal: one plain line per day loaded and per chunk built, with the pace and the ETA
    assert "1/1 days, 3 rows" in out and "rows/s, ETA 0s" in out and f"marts {D3}..{D3}" in out

    engine = make_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            status = conn.execute(sa.text(
                "select business_date, count(*) from ops.runs where status = 'success' group by 1 order by 1")).all()
            assert [tuple(r) for r in status] == [(D1 + timedelta(days=i), 1) for i in range(3)]
            assert conn.execute(sa.text("select count(*) from marts.fct_review")).scalar_one() == 3
            assert conn.execute(sa.text("select count(*) from ops.dirty_dates")).scalar_one() == 0
            kpi_before = conn.execute(sa.text("select * from marts.kpi_daily order by 1, 2, 3, 4, 5")).all()
    finally:
        engine.dispose()

    out = done(cx(env))
    assert "0 days run, 3 skipped" in out
    out = done(cx(env, "--force"))
    assert "3 days run, 0 skipped, 9 rows in" in out and "2/3 days" in out
    engine = make_engine(warehouse_url)
    try:
        with engine.connect() as conn:  # redoing the days changes no KPI
            assert conn.execute(sa.text("select * from marts.kpi_daily order by 1, 2, 3, 4, 5")).all() == kpi_before
    finally:
        engine.dispose()


@pytest.mark.parametrize(("limits", "builds"), [
    ({}, [(D1, D3)]),  # a few rows: one build of the marts for all days
    ({"chunk_rows": 4}, [(D1, D1 + timedelta(days=1)), (D3, D3)]),  # 3 rows a day: a build once 4 are read
    ({"chunk_days": 1}, [(D1, D1), (D1 + timedelta(days=1), D1 + timedelta(days=1)), (D3, D3)]),
])
def test_backfill_builds_the_marts_when_a_chunk_has_read_its_rows(tmp_path, warehouse_url, monkeypatch, limits,
                                                                   builds):
    pipeline = make_star(tmp_path, warehouse_url, monkeypatch)
    for i in range(3):
        write_day(tmp_path / "landing", D1 + timedelta(days=i), reviews=[(f"tp{i}", 4, f"A{i}", f"C{i}")],
                  responses=[(f"R_{i}", f"p{i}@mail.example", f"C{i}", 7), (f"R_{i}b", "", "", 9)])
    stages: list[str] = []
    try:
        result = pipeline.backfill(D1, D3, progress=lambda state: stages.append(state.stage), **limits)
        with pipeline.engine.connect() as conn:
            succeeded = conn.execute(sa.text("select count(*) from ops.runs where status = 'success'")).scalar_one()
            dirty = conn.execute(sa.text("select count(*) from ops.dirty_dates")).scalar_one()
    finally:
        pipeline.engine.dispose()
    assert [s for s in stages if s.startswith("marts")] == [f"marts {a}..{b}" for a, b in builds]
    assert (result.days_run, result.rows_in, succeeded, dirty) == (3, 9, 3, 0)


def test_the_loads_append_row_groups_that_the_marts_merge(tmp_path, monkeypatch):
    """DuckDB only: a load's checkpoint writes each table's new rows as a row group of their own
    instead of merging them into (rewriting) the one before; the marts' checkpoint merges them."""
    url = f"duckdb:///{tmp_path}/warehouse.duckdb?checkpoint_threshold=1KB"  # every commit checkpoints
    pipeline = make_star(tmp_path, url, monkeypatch)
    for i in range(3):
        write_day(tmp_path / "landing", D1 + timedelta(days=i), reviews=[(f"tp{i}", 4, f"A{i}", f"C{i}")],
                  responses=[(f"R_{i}", f"p{i}@mail.example", f"C{i}", 7)])
    groups = "select count(distinct row_group_id) from pragma_storage_info('staging.stg_review')"
    at_build: list[int] = []
    build = pipeline.build_marts

    def build_counting_row_groups(day, run_id=None):
        with pipeline.engine.connect() as conn:
            at_build.append(conn.exec_driver_sql(groups).scalar_one())
        return build(day, run_id)

    monkeypatch.setattr(pipeline, "build_marts", build_counting_row_groups)
    try:
        pipeline.backfill(D1, D3)
        with pipeline.engine.connect() as conn:
            after = conn.exec_driver_sql(groups).scalar_one()
            reviews = conn.execute(sa.text("select count(*) from marts.fct_review")).scalar_one()
    finally:
        pipeline.engine.dispose()
    assert (at_build, after, reviews) == ([3], 1, 3)  # one row group a day's review, then one for all

"""Raw PII retention (`cx purge --before D`) on both dialects, and the PostgreSQL read-only role
that sees the marts and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.run import Pipeline
from pipelines.warehouse.db import make_engine
from tests.integration.test_star_schema import D1, D2, make_star, write_day

ROOT = Path(__file__).parents[2]


@pytest.fixture
def star(tmp_path, warehouse_url, monkeypatch) -> Pipeline:
    pipeline = make_star(tmp_path, warehouse_url, monkeypatch)
    yield pipeline
    pipeline.engine.dispose()


def test_purge_deletes_raw_rows_of_earlier_days_only(star):
    landing = star.settings.landing_dir
    write_day(landing, D1, reviews=[("tp1", 2, "Ann Smith", "C1")],
              responses=[("R_1", "ann@mail.example", "C1", 3), ("R_bad", "bo@mail.example", "", 12)])
    write_day(landing, D2, reviews=[("tp2", 5, "Bob Jones", "C2")],
              responses=[("R_2", "bob@mail.example", "C2", 9)])
    star.run_day(D1, deliver=False)
    star.run_day(D2, deliver=False)
    with star.engine.connect() as conn:
        marts_before = conn.execute(sa.text("select count(*) from marts.fct_feedback")).scalar_one()
    star.engine.dispose()

    env = {**os.environ, "CX_CONFIG": str(star.settings.config_path)}
    proc = subprocess.run([sys.executable, "-m", "pipelines", "purge", "--before", str(D2)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # D1 held one review and two responses (one quarantined, its verbatim record blanked)
    assert "1 raw.trustpilot" in proc.stdout and "2 raw.nps_survey" in proc.stdout
    assert "1 ops.quarantine" in proc.stdout
    with star.engine.connect() as conn:
        raw = conn.execute(sa.text("select item_id from raw.trustpilot union all "
                                   "select item_id from raw.nps_survey order by 1")).scalars().all()
        assert raw == ["R_2", "tp2"]
        # the quarantine keeps where and why, not the verbatim record
        assert [tuple(r) for r in conn.execute(sa.text("select line, raw_record from ops.quarantine"))] == [(5, None)]
        # staging and the marts hold no raw PII and are untouched
        assert conn.execute(sa.text("select count(*) from marts.fct_feedback")).scalar_one() == marts_before
        assert conn.execute(sa.text("select count(*) from staging.stg_review")).scalar_one() == 2


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)
def test_postgres_reader_role_reads_marts_and_nothing_else(star, warehouse_url):
    write_day(star.settings.landing_dir, D1, reviews=[("tp1", 2, "Ann Smith", "C1")])
    star.run_day(D1, deliver=False)
    with star.engine.begin() as conn:  # a marts table a later migration adds is readable too
        conn.execute(sa.text("create table marts.later_mart (x integer)"))
    engine = make_engine(warehouse_url)
    try:
        for table in ("marts.fct_review", "marts.kpi_daily", "marts.dim_customer", "marts.later_mart"):
            with engine.connect() as conn:
                conn.execute(sa.text("set role cx_marts_reader"))
                conn.execute(sa.text(f"select count(*) from {table}")).scalar_one()
        for table in ("raw.trustpilot", "staging.stg_review", "ops.runs", "ops.quarantine"):
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text("set role cx_marts_reader"))
                conn.execute(sa.text(f"select count(*) from {table}"))
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("set role cx_marts_reader"))
            conn.execute(sa.text("delete from marts.kpi_daily"))  # read-only
    finally:
        engine.dispose()

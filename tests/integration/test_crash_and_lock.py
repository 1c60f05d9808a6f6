"""Real `cx run` processes against a real warehouse (DuckDB and PostgreSQL): one SIGKILLed in the
middle of a load leaves the previous state intact, and a second run waits for the first one's
lock or gives up after CX_LOCK_TIMEOUT with a clear message."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from pipelines.warehouse.db import make_engine
from tests.integration.test_star_schema import D1, SOURCES, write_day

ROOT = Path(__file__).parents[2]
SNAPSHOT = ["raw.trustpilot", "raw.nps_survey", "staging.stg_review", "staging.stg_survey_response",
            "marts.fct_review", "marts.fct_feedback", "marts.kpi_daily", "ops.source_runs", "ops.row_accounting",
            "ops.dirty_dates"]


def snapshot(url: str) -> dict[str, list]:
    """Every row of the tables a load or a mart build writes."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t: sorted(map(str, conn.execute(sa.text(f"select * from {t}")).all())) for t in SNAPSHOT}
    finally:
        engine.dispose()  # DuckDB: let the next process open the file


def start(env: dict[str, str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipelines", "run", "--date", str(D1), "--no-deliver"],
                            env={**env, **extra}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def paused(env: dict[str, str]) -> subprocess.Popen:
    """A run stopped inside the load transaction of its first source, after its first batch merged."""
    marker = Path(env["CX_HOME"]) / "paused-load"
    marker.unlink(missing_ok=True)
    proc = start(env, CX_PAUSE_AT="load")
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never reached the load"
        time.sleep(0.1)
    return proc


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sigkill_mid_load_then_lock_waits_and_next_run_completes(tmp_path, warehouse_url):
    landing = tmp_path / "landing"
    config = tmp_path / "sources.yml"
    config.write_text(SOURCES)
    write_day(landing, D1, reviews=[("tp1", 2, "Ann", "C1"), ("tp2", 5, "Bob", "C2")],
              responses=[("R_1", "ann@mail.example", "C1", 3)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_LANDING_DIR=str(landing), CX_WAREHOUSE_URL=warehouse_url,
               CX_PII_KEY="crash-key", CX_CONFIG=str(config))
    first = finish(start(env))
    assert first.returncode == 0, first.stdout + first.stderr
    before = snapshot(warehouse_url)

    # a late file for the same day: the next run must load it
    later = [{"id": "tp3", "stars": 1, "title": "Late", "text": "Still waiting.", "createdAt": f"{D1}T20:00:00Z",
              "consumer": {"displayName": "Cy"}}]
    (landing / "trustpilot" / str(D1) / "z-late.json").write_text(json.dumps(later))

    victim = paused(env)
    impatient = finish(start(env, CX_LOCK_TIMEOUT="1"))
    assert impatient.returncode == 1
    assert "another cx process" in impatient.stderr and "CX_LOCK_TIMEOUT" in impatient.stderr
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert snapshot(warehouse_url) == before  # the killed load committed nothing

    victim = paused(env)
    patient = start(env, CX_LOCK_TIMEOUT="300")
    time.sleep(2)
    assert patient.poll() is None  # waiting for the lock, not failing
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    done = finish(patient)
    assert done.returncode == 0, done.stdout + done.stderr
    after = snapshot(warehouse_url)
    assert len(after["marts.fct_review"]) == 3 and after["ops.dirty_dates"] == []
    again = finish(start(env))  # and a rerun changes no staging or mart row (raw rows get the new load id)
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = snapshot(warehouse_url)
    derived = [t for t in SNAPSHOT if t.startswith(("staging.", "marts."))]
    assert {t: rerun[t] for t in derived} == {t: after[t] for t in derived}

"""`cx quarantine list | show | replay` and `cx data-docs` as a user runs them, in a subprocess."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.cli import cx
from tests.integration.conftest import _qualtrics

DAY = "2026-03-10"
CONFIG = """timezone: Europe/London
brand: Acme
sources:
  - name: nps_survey
    family: survey
    format: qualtrics_csv
    path: "{{landing}}/qualtrics/{{date}}/*.csv"
    fields: {{nps: Q1, csat: {csat}, comment: Q4}}
"""


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_PII_KEY="e2e-key", COLUMNS="250",
               CX_LANDING_DIR=str(tmp_path / "landing"))
    folder = tmp_path / "landing" / "qualtrics" / DAY
    folder.mkdir(parents=True)
    rows = [("R_1", f"{DAY} 09:00:00", 9, 4, "great"), ("R_2", f"{DAY} 10:00:00", 3, 2, "slow"),
            ("R_3", f"{DAY} 11:00:00", 11, 5, "scale error")]
    (folder / "export.csv").write_text(_qualtrics(rows), encoding="utf-8")
    return env


def test_replay_waits_for_the_warehouse_lock_like_every_writing_command(env, tmp_path):
    """Replay loads rows and rebuilds marts: while another cx process writes, it waits for the lock
    and gives up after CX_LOCK_TIMEOUT, touching nothing."""
    from pipelines.warehouse.db import make_engine
    from pipelines.warehouse.lock import warehouse_lock

    wrong, fixed = tmp_path / "wrong.yml", tmp_path / "fixed.yml"
    wrong.write_text(CONFIG.format(csat="Q1"))
    fixed.write_text(CONFIG.format(csat="Q2"))
    cx(env, "run", "--date", DAY, "--no-deliver", "--config", str(wrong))
    home = Path(env["CX_HOME"])
    engine = make_engine(f"duckdb:///{home / 'warehouse.duckdb'}")
    try:
        with warehouse_lock(engine, home, timeout=0):  # another writer holds it
            blocked = cx({**env, "CX_LOCK_TIMEOUT": "1"}, "quarantine", "replay", "--config", str(fixed), check=False)
    finally:
        engine.dispose()
    assert blocked.returncode == 1 and "another cx process" in blocked.stderr, blocked.stdout + blocked.stderr
    assert "2 quarantined row(s)" in cx(env, "quarantine", "list", "--config", str(fixed)).stdout
    replayed = cx(env, "quarantine", "replay", "--config", str(fixed)).stdout  # the lock is free again
    assert "replayed 2: 1 loaded, 0 duplicate, 1 still quarantined" in replayed


def test_quarantine_list_show_replay_after_a_mapping_fix(env, tmp_path):
    wrong, fixed = tmp_path / "wrong.yml", tmp_path / "fixed.yml"
    wrong.write_text(CONFIG.format(csat="Q1"))  # csat read from the NPS column: 9 and 11 are out of 1..5
    fixed.write_text(CONFIG.format(csat="Q2"))
    run = cx(env, "run", "--date", DAY, "--no-deliver", "--config", str(wrong))
    assert "3 in, 1 loaded, 2 quarantined, 0 duplicate" in run.stdout

    listed = cx(env, "quarantine", "list", "--config", str(wrong)).stdout
    assert "2 quarantined row(s)" in listed and "csat: expect_column_values_to_be_between [1, 5]" in listed
    ids = re.findall(r"\b[0-9a-f]{12}\b", listed)
    assert len(ids) == 2
    shown = cx(env, "quarantine", "show", ids[0], "--config", str(wrong)).stdout
    assert "column_name: csat" in shown and '"ResponseId":"R_1"' in shown and "line: 4" in shown

    replayed = cx(env, "quarantine", "replay", "--config", str(fixed)).stdout
    assert "replayed 2: 1 loaded, 0 duplicate, 1 still quarantined" in replayed
    left = cx(env, "quarantine", "list", "--config", str(fixed)).stdout
    assert "1 quarantined row(s)" in left and "nps: expect_column_values_to_be_between [0, 10]" in left

    missing = cx(env, "quarantine", "show", "0123456789ab", "--config", str(fixed), check=False)
    assert missing.returncode == 2 and "quarantine id '0123456789ab' not found" in missing.stderr

    docs = cx(env, "data-docs", "--config", str(fixed)).stdout
    index = Path(docs.split("data docs ", 1)[1].strip())
    assert index == tmp_path / "home" / "data_docs" / "index.html"
    assert "expectations/survey.html" in index.read_text(encoding="utf-8")

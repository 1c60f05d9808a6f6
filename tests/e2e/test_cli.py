"""The `cx` command as a user runs it: a subprocess, real files, a real DuckDB warehouse."""

from __future__ import annotations

import email
import email.policy
import os

import duckdb
import pytest

from tests.cli import cx


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_PII_KEY="e2e-key", COLUMNS="200")
    return env


def test_a_day_end_to_end_then_rerun_changes_nothing(env, tmp_path):
    cx(env, "sample-data", "--start", "2026-03-01", "--end", "2026-03-10", "--defects", "0.02")
    cx(env, "db", "init")
    cx(env, "backfill", "--start", "2026-03-01", "--end", "2026-03-09")
    first = cx(env, "run", "--date", "2026-03-10")
    assert "run 2026-03-10-" in first.stdout and "quarantined" in first.stdout

    db = tmp_path / "home" / "warehouse.duckdb"

    def marts() -> list:
        with duckdb.connect(str(db), read_only=True) as con:
            return [con.sql(f"select * from marts.{t} order by all").fetchall()
                    for t in ("fct_feedback", "fct_review", "fct_survey_response", "kpi_daily")]

    before = marts()
    cx(env, "run", "--date", "2026-03-10")
    assert marts() == before
    with duckdb.connect(str(db), read_only=True) as con:
        metrics = {r[0] for r in con.sql(
            "select distinct metric from marts.kpi_daily where kpi_date = '2026-03-10'").fetchall()}
        assert {"nps", "csat", "avg_rating", "review_count", "mention_count", "net_sentiment"} <= metrics
        assert con.sql("select count(*) from ops.quarantine").fetchone()[0] > 0

    report = tmp_path / "home" / "reports" / "2026-03-10" / "cx_report_2026-03-10.html"
    assert report.exists() and "NPS" in report.read_text()
    emails = sorted((tmp_path / "home" / "outbox" / "2026-03-10").glob("*.eml"))
    assert emails
    msg = email.message_from_bytes(emails[0].read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "multipart/related"]
    assert [e.name for e in emails] == ["exec@example.com.eml"]  # 10 March 2026 is a Tuesday: no weekly digests
    assert (tmp_path / "home" / "reports" / "index.html").exists()

    # the run delivered already: sending again does nothing unless asked to resend
    again = cx(env, "report", "--date", "2026-03-10", "--send")
    assert "1 skipped, 2 not due" in again.stdout
    resent = cx(env, "report", "--date", "2026-03-10", "--resend")
    assert "1 written, 2 not due" in resent.stdout

    status = cx(env, "status")
    assert "trustpilot" in status.stdout and "2026-03-10" in status.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "--date", "2026-13-01"), "--date: '2026-13-01' is not a date"),
        (("backfill", "--start", "2026-03-05", "--end", "2026-03-01"), "is before --start"),
        (("run", "--date", "2026-03-01", "--source", "myspace"), "unknown source myspace"),
        (("run", "--date", "2026-03-01", "--config", "/nonexistent/sources.yml"), "config file not found"),
    ],
)
def test_bad_usage_exits_2_with_a_message_and_no_traceback(env, args, expected):
    proc = cx(env, *args, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_malformed_config_names_file_and_line(env, tmp_path):
    bad = tmp_path / "sources.yml"
    bad.write_text("timezone: UTC\nsources:\n  - name: a\n    family: review\n    format: nope\n    path: x\n")
    proc = cx(env, "run", "--date", "2026-03-01", "--config", str(bad), check=False)
    assert proc.returncode == 2
    assert f"{bad}:5: sources.0.format: unknown format 'nope'" in proc.stderr

"""The file ledger and schema drift on a real warehouse (DuckDB and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date

import pytest
import sqlalchemy as sa

from tests.integration.conftest import DAY, _qualtrics
from tests.integration.test_run_day import kpi

D = date.fromisoformat(DAY)
NEXT = date(2026, 3, 11)
PLAY = ["Package Name", "App Version Code", "App Version Name", "Reviewer Language", "Device",
        "Review Submit Date and Time", "Review Submit Millis Since Epoch", "Review Last Update Date and Time",
        "Review Last Update Millis Since Epoch", "Star Rating", "Review Title", "Review Text",
        "Developer Reply Date and Time", "Developer Reply Millis Since Epoch", "Developer Reply Text", "Review URL"]
# 2026-03-10 10:00:00 UTC is 1773136800000 ms since the epoch
PLAY_ROW = ["com.acme.app", "412", "4.1.2", "en", "a53x", "2026-03-10T10:00:00Z", "1773136800000",
            "2026-03-10T10:00:00Z", "1773136800000", "4", "", "Works well", "", "", "",
            "https://play.google.com/store/apps/details?id=com.acme.app&reviewId=gp:AOqpTOA1"]


def ledger(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(
        "select source, path, rows, status from ops.file_ledger order by source, path")).all()]


def test_every_file_read_is_in_the_ledger_with_size_and_checksum(tiny):
    tiny.run_day(D)
    landing = tiny.settings.landing_dir
    with tiny.engine.connect() as conn:
        rows = conn.execute(sa.text("select source, path, size, checksum, rows, status, run_id from "
                                    "ops.file_ledger order by source")).all()
    export = landing / "qualtrics" / DAY / "export.csv"
    assert [(r.source, r.rows, r.status) for r in rows] == [("nps_survey", 13, "loaded"),
                                                            ("trustpilot", 4, "loaded"), ("x", 3, "loaded")]
    survey = rows[0]
    assert survey.path == str(export) and survey.size == export.stat().st_size
    assert survey.checksum == hashlib.sha256(export.read_bytes()).hexdigest()
    assert survey.run_id.startswith(DAY)


def test_the_same_file_delivered_twice_is_loaded_once(tiny):
    tiny.run_day(D)
    again = tiny.settings.landing_dir / "trustpilot" / NEXT.isoformat()
    again.mkdir(parents=True)
    shutil.copy(tiny.settings.landing_dir / "trustpilot" / DAY / "reviews.json", again / "reviews_resent.json")
    summary = tiny.run_day(NEXT)
    trustpilot = next(s for s in summary.sources if s.source == "trustpilot")
    # not read again: its 4 rows are counted in, and as duplicates of the first delivery's
    assert (trustpilot.status, trustpilot.rows_in, trustpilot.rows_loaded, trustpilot.rows_duplicate) == (
        "success", 4, 0, 4)
    assert "same content as" in trustpilot.message
    with tiny.engine.connect() as conn:
        assert ("trustpilot", str(again / "reviews_resent.json"), 4, "duplicate") in ledger(conn)
        assert conn.execute(sa.text("select count(*) from raw.trustpilot")).scalar_one() == 4
        assert conn.execute(sa.text("select count(*) from marts.fct_review")).scalar_one() == 4


def test_a_file_changed_after_loading_is_reloaded_and_replaces_its_rows(tiny):
    tiny.run_day(D)
    export = tiny.settings.landing_dir / "qualtrics" / DAY / "export.csv"
    # the vendor re-sends the export: R_07's NPS corrected from 3 to 9, R_09 (NPS 0) withdrawn
    nps = [10, 9, 9, 8, 7, 6, 5, 9, 10]
    csat = [5, 4, 4, 3, 2, 5, 4, 1, 5]
    rows = [(f"R_{i:02d}", f"{DAY} {9 + i}:15:00", n, c, "") for i, (n, c) in enumerate(zip(nps, csat, strict=True))]
    export.write_text(_qualtrics(rows), encoding="utf-8-sig")
    summary = tiny.run_day(D)
    survey = next(s for s in summary.sources if s.source == "nps_survey")
    assert (survey.rows_in, survey.rows_loaded) == (9, 9)
    with tiny.engine.connect() as conn:
        ids = set(conn.execute(sa.text("select response_id from staging.stg_survey_response")).scalars())
        assert ids == {f"R_{i:02d}" for i in range(9)}  # R_09, R_late and R_bad left with the old content
        # promoters 10, 9, 9, 9, 10 = 5; detractors 6, 5 = 2; n 9: NPS = (5 - 2) / 9 * 100 = 33.33
        value, n, _, _ = kpi(conn, "nps")
        assert n == 9 and value == pytest.approx(100 * 3 / 9)
        assert conn.execute(sa.text("select count(*) from raw.nps_survey")).scalar_one() == 9
        assert conn.execute(sa.text("select count(*) from ops.quarantine where source = 'nps_survey'")
                            ).scalar_one() == 0  # R_bad's quarantine row went with the old content
        assert ("nps_survey", str(export), 9, "loaded") in ledger(conn)


def test_drift_is_logged_and_a_missing_required_column_fails_only_its_source(tiny):
    folder = tiny.settings.landing_dir / "google_play" / DAY
    folder.mkdir(parents=True)
    old = folder / "reviews_com.acme.app_202603.csv"
    old.write_text(",".join(PLAY) + "\n" + ",".join(PLAY_ROW) + "\n", encoding="utf-16")
    first = tiny.run_day(D)
    play = next(s for s in first.sources if s.source == "google_play")
    assert (play.status, play.rows_loaded) == ("success", 1)  # the old name is still understood

    broken_day = tiny.settings.landing_dir / "google_play" / NEXT.isoformat()
    broken_day.mkdir(parents=True)
    broken = broken_day / "reviews_com.acme.app_202603.csv"
    header = [c for c in PLAY if c != "Star Rating"] + ["Device Language"]
    broken.write_text(",".join(header) + "\n", encoding="utf-16")
    second = tiny.run_day(NEXT)
    assert [s.source for s in second.failed] == ["google_play"]
    assert f"{broken}: missing column 'Star Rating' (rating)" in second.failed[0].message
    with tiny.engine.connect() as conn:
        drift = {tuple(r) for r in conn.execute(sa.text(
            "select business_date, file, change, column_name from ops.schema_drift where source = 'google_play'"))}
        assert drift == {
            (D, str(old), "renamed", "Review Link"),
            (NEXT, str(broken), "renamed", "Review Link"),
            (NEXT, str(broken), "missing", "Star Rating"),
            (NEXT, str(broken), "added", "Device Language"),
        }
        statuses = dict(conn.execute(sa.text(
            "select source, status from ops.source_runs where run_id = :r"), {"r": second.run_id}).all())
        assert statuses["google_play"] == "failed" and statuses["trustpilot"] in ("success", "no_data")
        assert str(broken) not in {r[1] for r in ledger(conn)}  # a failed load leaves no ledger row


def test_a_file_gone_between_listing_and_reading_fails_only_its_source(tiny, monkeypatch):
    """A vendor sync moves a file away after the run listed it: the ledger's checksum is the first
    read, and it fails that source, naming the file, instead of the whole run."""
    from pipelines.config import SourceConfig

    moved = tiny.settings.landing_dir / "trustpilot" / DAY / "zz_moved.json"  # listed after reviews.json
    listed = SourceConfig.files

    def files(self, landing, day):
        return listed(self, landing, day) + ([moved] if self.name == "trustpilot" else [])

    monkeypatch.setattr(SourceConfig, "files", files)
    summary = tiny.run_day(D)
    assert [s.source for s in summary.failed] == ["trustpilot"]
    assert summary.failed[0].message == f"{moved}: cannot read file: No such file or directory"
    with tiny.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text(
            "select source, status from ops.source_runs where run_id = :r"), {"r": summary.run_id}).all())
        assert (statuses["trustpilot"], statuses["nps_survey"], statuses["x"]) == ("failed", "success", "success")
        # reviews.json was loaded first, in the same transaction: none of it stays
        assert conn.execute(sa.text("select count(*) from staging.stg_review")).scalar_one() == 0
        assert "trustpilot" not in {r[0] for r in ledger(conn)}
        assert kpi(conn, "nps")[:2] == (0.0, 10)  # the run went on to the marts


def test_two_bad_posts_on_one_search_page_line_are_quarantined_apart(tiny):
    page = {"data": [{"id": "1.79E+18", "text": "mangled id", "created_at": f"{DAY}T12:00:00Z"},
                     {"id": "1790000000000000099", "text": "no time"}],
            "meta": {"result_count": 2}}
    path = tiny.settings.landing_dir / "x" / DAY / "page.jsonl"
    path.write_text(json.dumps(page) + "\n", encoding="utf-8")
    summary = tiny.run_day(D)
    x = next(s for s in summary.sources if s.source == "x")
    assert (x.status, x.rows_quarantined) == ("success", 2)
    with tiny.engine.connect() as conn:
        rows = conn.execute(sa.text("select line, item, raw_record from ops.quarantine where source = 'x' "
                                    "and file = :f order by item"), {"f": str(path)}).all()
    assert [(r.line, r.item, json.loads(r.raw_record)["text"]) for r in rows] == [(1, 0, "mangled id"),
                                                                                   (1, 1, "no time")]

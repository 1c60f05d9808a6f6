"""A real warehouse per test — DuckDB always, PostgreSQL when the service is reachable — and a
tiny hand-written landing zone whose KPIs are worked out by hand in the tests."""

from __future__ import annotations

import json
import os
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from pipelines.config import load_config
from pipelines.run import Pipeline
from pipelines.sample import generate
from tests.integration import vendor_api as v
from tests.needs import require

PG_ADMIN_URL = os.environ.get("CX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).parents[2]
DAY = "2026-03-10"  # a Tuesday, in GMT (London is on UTC until 29 March)
# one source a family: the tests that run many days of sample data check how days and builds
# combine, and each of the example configuration's thirteen sources costs a GX validation a day
FAMILY_SOURCES = ("trustpilot", "x", "nps_survey")


def family_config(dest: Path) -> Path:
    """The example configuration with only FAMILY_SOURCES, written to `dest`."""
    doc = yaml.safe_load((ROOT / "config" / "sources.yml").read_text(encoding="utf-8"))
    doc["sources"] = [source for source in doc["sources"] if source["name"] in FAMILY_SOURCES]
    assert [source["name"] for source in doc["sources"]] == list(FAMILY_SOURCES)
    dest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return dest


def _postgres_database(options: str = "") -> str:
    """Create a throwaway database (`options`: CREATE DATABASE's, e.g. its locale); skip (or fail
    under CI=true) when PostgreSQL is not there."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"cx_test_{uuid.uuid4().hex[:10]}"
            conn.exec_driver_sql(f"create database {name} {options}")
    except sa.exc.OperationalError as exc:
        require(False, f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc.orig}")
    finally:
        admin.dispose()
    return name


def _drop_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"drop database if exists {name} with (force)")
    admin.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request, tmp_path) -> str:
    """The URL of an empty warehouse of each dialect."""
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path}/warehouse.duckdb"
        return
    name = _postgres_database()
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _drop_database(name)


QUALTRICS_HEADER = [
    "StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
    "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
    "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage",
    "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Product", "Location",
]


def _qualtrics(rows: list[tuple]) -> str:
    """A three-header-row Qualtrics export; rows are (id, recorded, nps, csat, comment)."""
    import csv
    import io

    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(QUALTRICS_HEADER)
    out.writerow([*QUALTRICS_HEADER[:17], "How likely are you to recommend Acme?", "How satisfied were you?",
                  "How easy was it?", "Tell us why", "Stage", "Touchpoint", "Product", "Location"])
    import_ids = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished",
                  "recordedDate", "_recordId", "recipientLastName", "recipientFirstName", "recipientEmail",
                  "externalDataReference", "locationLatitude", "locationLongitude", "distributionChannel",
                  "userLanguage", "QID1", "QID2", "QID3", "QID4_TEXT", "QID5", "QID6", "Product", "Location"]
    out.writerow([json.dumps({"ImportId": i}) for i in import_ids])
    for rid, recorded, nps, csat, comment in rows:
        out.writerow([recorded, recorded, "0", "", "100", "60", "1", recorded, rid, "", "", f"{rid}@mail.example",
                      "", "", "", "email", "EN", nps, csat, "", comment, "support", "web", "Broadband", "Leeds"])
    return buf.getvalue()


@pytest.fixture
def tiny(tmp_path, warehouse_url, monkeypatch) -> Pipeline:
    """One business day of hand-written vendor files whose KPIs the tests compute by hand.

    Survey (day D): NPS 10, 9, 9, 8, 7, 6, 5, 3, 10, 0 -> P 4, D 4, n 10; CSAT 5, 4, 4, 3, 2, 5,
    4, 1, 5, 4 -> 7 of 10 top-2-box. Plus a late response from D-1 (NPS 0, no CSAT), a repeated
    response (duplicate) and an NPS of 11 (quarantined).
    Reviews (day D): 5, 4, 4, 1 stars, one with an owner reply. Mentions: 3 posts on D.
    """
    landing = tmp_path / "landing"
    nps = [10, 9, 9, 8, 7, 6, 5, 3, 10, 0]
    csat = [5, 4, 4, 3, 2, 5, 4, 1, 5, 4]
    rows = [(f"R_{i:02d}", f"{DAY} {9 + i}:15:00", n, c, "Great service" if n >= 9 else "")
            for i, (n, c) in enumerate(zip(nps, csat, strict=True))]
    rows.append(("R_late", "2026-03-09 17:00:00", 0, "", "Order never arrived, on hold for ages"))
    rows.append(rows[0])  # the same response exported twice
    rows.append(("R_bad", f"{DAY} 20:00:00", 11, 5, "scale error"))
    survey = landing / "qualtrics" / DAY
    survey.mkdir(parents=True)
    (survey / "export.csv").write_text(_qualtrics(rows), encoding="utf-8-sig")

    reviews = [
        {"id": f"tp{i}", "stars": s, "title": t, "text": b, "language": "en",
         "createdAt": f"{DAY}T{10 + i}:00:00.000Z", "updatedAt": None,
         "consumer": {"id": f"c{i}", "displayName": f"Customer {i}"}, "businessUnit": {"id": "bu1"},
         "status": "active", "verificationLevel": "verified",
         "reply": ({"message": "Sorry to hear this", "createdAt": f"{DAY}T18:00:00.000Z"} if s == 1 else None)}
        for i, (s, t, b) in enumerate([
            (5, "Brilliant", "Fast, friendly and fair."), (4, "Good", "Mostly good service."),
            (4, "Fine", "Installed on time."), (1, "Awful", "Cancelled twice, nobody answered."),
        ])
    ]
    tp = landing / "trustpilot" / DAY
    tp.mkdir(parents=True)
    (tp / "reviews.json").write_text(json.dumps(reviews), encoding="utf-8")

    posts = [
        {"id": f"17900000000000000{i:02d}", "text": text, "created_at": f"{DAY}T12:0{i}:00.000Z",
         "author_id": f"u{i}", "lang": "en", "conversation_id": f"17900000000000000{i:02d}",
         "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": i, "quote_count": 0}}
        for i, text in enumerate(["Love @Acme broadband!", "@Globex is down again", "@Acme app keeps crashing"])
    ]
    x = landing / "x" / DAY
    x.mkdir(parents=True)
    (x / "posts.jsonl").write_text("\n".join(json.dumps(p) for p in posts) + "\n", encoding="utf-8")

    config = Path(__file__).parents[2] / "config" / "sources.yml"
    monkeypatch.setenv("CX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CX_LANDING_DIR", str(landing))
    monkeypatch.setenv("CX_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("CX_PII_KEY", "test-key")
    pipeline = Pipeline.from_env(config)
    assert load_config(config).sources  # the example config reads this layout
    pipeline.init_db()
    yield pipeline
    pipeline.engine.dispose()


def sample_history(tmp_path: Path, warehouse_url: str, monkeypatch, start: date, end: date) -> Pipeline:
    """A pipeline over sample data for `start`..`end` (scale 2: late items and review edits) of
    FAMILY_SOURCES whose warehouse holds every day but the last, backfilled one build a day, so that
    running the last day reaches dates built before."""
    config = family_config(tmp_path / "sources.yml")
    cfg = load_config(config)
    generate(tmp_path / "landing", start, end, scale=2, seed=5, tz=cfg.timezone, brand=cfg.brand,
             competitors=cfg.competitors)
    for variable, value in (("CX_WAREHOUSE_URL", warehouse_url), ("CX_HOME", tmp_path / "home"),
                            ("CX_LANDING_DIR", tmp_path / "landing"), ("CX_PII_KEY", "same-key")):
        monkeypatch.setenv(variable, str(value))
    pipeline = Pipeline.from_env(config)
    pipeline.init_db()
    pipeline.backfill(start, end - timedelta(days=1), chunk_days=1)
    return pipeline


@pytest.fixture(scope="module")
def loopback():
    """A loopback HTTP server playing the vendors' APIs, shared by a test module."""
    with v.loopback_server() as srv:
        yield srv


@pytest.fixture
def server(loopback):
    """The module's server, with no handler left over from the test before."""
    loopback.clear()
    return loopback

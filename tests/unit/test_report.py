"""The report stage against a real temporary DuckDB warehouse filled with hand-made mart rows."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from pipelines.config import PipelineConfig, Settings, SourceConfig
from pipelines.errors import ConfigError
from pipelines.report import (
    Recipient,
    build_context,
    deliver,
    load_recipients,
    render_email,
    render_web,
    write_report,
)
from pipelines.warehouse.db import make_engine, migrate
from tests.dimensions import add_dimension_members

DAY = date(2026, 1, 15)
XSS = "Loved it <script>alert(1)</script> and <img src=x onerror=alert(1)> too"
RECIPIENTS = """\
recipients:
  - email: cx-leads@example.com
    name: CX leads
    kind: daily
  - email: exec@example.com
    name: Executive team
"""


def kpi(day: date, window: int, metric: str, value: float, n: int, low: float | None = None,
        high: float | None = None, segment: tuple[str, str] = ("all", "all")) -> dict:
    return {"kpi_date": day, "window_days": window, "metric": metric, "segment_type": segment[0],
            "segment_value": segment[1], "value": value, "sample_size": n, "ci_low": low, "ci_high": high}


KPI_ROWS = [
    kpi(DAY, 7, "nps", 25.0, 120, 12.3, 37.7),
    kpi(DAY, 1, "nps", 30.0, 18, -10.0, 70.0),
    kpi(DAY, 28, "nps", 22.5, 480, 16.0, 29.0),
    kpi(DAY - timedelta(days=7), 7, "nps", 22.0, 110, 9.0, 35.0),
    kpi(DAY - timedelta(days=14), 7, "nps", 20.0, 100, 6.0, 34.0),
    kpi(DAY, 7, "csat", 81.3, 96, 72.4, 87.7),
    kpi(DAY, 7, "avg_rating", 4.2, 1204, 4.13, 4.27),
    kpi(DAY, 7, "net_sentiment", 12.5, 1500, 8.1, 16.9),
    kpi(DAY, 7, "review_count", 1204, 1204),
    kpi(DAY, 7, "nps", 25.0, 120, 12.3, 37.7, segment=("source", "nps_survey")),
    kpi(DAY, 7, "avg_rating", 4.2, 1204, 4.13, 4.27, segment=("source", "trustpilot")),
    kpi(DAY, 7, "review_count", 1204, 1204, segment=("source", "trustpilot")),
    kpi(DAY, 7, "nps", 99.0, 1, segment=("product", "widget")),
    kpi(DAY, 7, "nps", 55.0, 9, segment=("touchpoint", "app")),  # not a report dimension
]


def feedback(fid: str, score: float, text: str, day: date = DAY, source: str = "trustpilot",
             rating: float | None = None, nps: float | None = None) -> dict:
    label = "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"
    return {"feedback_id": fid, "family": "review", "source": source, "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
            "feedback_date": day, "text": text, "sentiment_score": score, "sentiment_label": label,
            "rating": rating, "nps": nps}


FEEDBACK = [
    feedback("tp:xss", 0.95, XSS, rating=5),
    *(feedback(f"tp:pos{i}", round(0.9 - i / 10, 2), f"positive comment {i}", rating=4) for i in range(6)),
    feedback("tp:pos1a", 0.8, "positive tie", rating=4),  # ties with pos1: feedback_id decides
    feedback("tp:old", 0.99, "too old to show", day=DAY - timedelta(days=7)),
    feedback("tp:neutral", 0.0, "neutral comment"),
    *(feedback(f"nps:neg{i}", round(-0.9 + i / 10, 2), f"negative comment {i}", source="nps_survey", nps=i)
      for i in range(6)),
]

SOURCE_RUNS = [
    {"run_id": "r1", "source": "nps_survey", "status": "failed", "message": "file locked", "at": 1},
    {"run_id": "r2", "source": "nps_survey", "status": "success", "message": "", "at": 2},
    {"run_id": "r2", "source": "trustpilot", "status": "success", "message": "", "at": 2},
    {"run_id": "r2", "source": "x", "status": "failed", "message": "x: cannot parse a.jsonl line 3", "at": 2},
]
ACCOUNTING = [
    {"run_id": "r2", "source": "trustpilot", "rows_in": 100, "loaded": 95, "quarantined": 3, "duplicate": 2},
    {"run_id": "r2", "source": "nps_survey", "rows_in": 50, "loaded": 50, "quarantined": 0, "duplicate": 0},
]


def fill(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "insert into marts.kpi_daily values (:kpi_date, :window_days, :metric, :segment_type, "
            ":segment_value, :value, :sample_size, :ci_low, :ci_high)"), KPI_ROWS)
        add_dimension_members(conn, FEEDBACK)
        conn.execute(sa.text(
            "insert into marts.fct_feedback (feedback_id, family, source, occurred_at, feedback_date, text, "
            "sentiment_score, sentiment_label, rating, nps) values (:feedback_id, :family, :source, "
            ":occurred_at, :feedback_date, :text, :sentiment_score, :sentiment_label, :rating, :nps)"), FEEDBACK)
        conn.execute(sa.text(
            "insert into ops.source_runs values (:run_id, :source, :day, :status, :message, 1, :finished_at)"),
            [{**r, "day": DAY, "finished_at": datetime(2026, 1, 16, r["at"], tzinfo=UTC)} for r in SOURCE_RUNS])
        conn.execute(sa.text("insert into ops.row_accounting values (:run_id, :source, :day, :rows_in, :loaded, "
                             ":quarantined, :duplicate)"), [{**a, "day": DAY} for a in ACCOUNTING])
        conn.execute(sa.text("insert into ops.quarantine (quarantine_id, run_id, source, business_date, file, line, "
                             "item, reason, raw_record) values (:id, 'r2', 'trustpilot', :d, 'a.json', :line, 0, "
                             "'rating out of range', '{}')"), [{"id": f"q{i}", "d": DAY, "line": i} for i in range(3)])


@pytest.fixture
def config(tmp_path: Path) -> PipelineConfig:
    path = tmp_path / "config" / "sources.yml"
    path.parent.mkdir()
    (path.parent / "recipients.yml").write_text(RECIPIENTS)
    sources = (
        SourceConfig("trustpilot", "review", "trustpilot_json", path="{landing}/tp/*.json"),
        SourceConfig("x", "mention", "x_jsonl", path="{landing}/x/*.jsonl"),
        SourceConfig("nps_survey", "survey", "qualtrics_csv", path="{landing}/q/*.csv"),
    )
    return PipelineConfig(path=path, timezone=ZoneInfo("Europe/London"), brand="Acme", competitors=(),
                          sources=sources)


@pytest.fixture
def settings(tmp_path: Path, config: PipelineConfig) -> Settings:
    return Settings(home=tmp_path / "var", config_path=config.path, warehouse_url=f"duckdb:///{tmp_path}/w.duckdb",
                    landing_dir=tmp_path / "landing", smtp_url=None, pii_key=b"test-key")


@pytest.fixture
def engine(settings: Settings):
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    fill(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def context(engine: sa.Engine, config: PipelineConfig) -> dict:
    with engine.connect() as conn:
        return build_context(conn, DAY, config)


def tiles(context: dict) -> dict[str, dict]:
    return {t["metric"]: t for t in context["tiles"]}


def tile_html(html: str, label: str) -> str:
    """The markup of one headline tile."""
    start = re.search(f"<h3[^>]*>{label}</h3>", html).start()
    return html[start:html.index("</td>", start)]


def email_parts(message: email.message.EmailMessage) -> dict[str, str]:
    """The text and HTML bodies of a report email (the HTML sits inside multipart/related)."""
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")}


# -- context and web page ----------------------------------------------------------------------


def test_tiles_show_the_values_in_kpi_daily(context: dict) -> None:
    nps = tiles(context)["nps"]
    assert (nps["value"], nps["interval"], nps["n"]) == ("25.0", "12.3–37.7", "120")
    assert (nps["day1"], nps["day28"]) == ("30.0", "22.5")
    assert tiles(context)["csat"]["value"] == "81.3%"
    assert tiles(context)["avg_rating"]["value"] == "4.20 / 5"
    assert tiles(context)["review_count"]["value"] == "1,204"
    assert tiles(context)["review_count"]["n"] is None  # a count is its own n

    html = tile_html(render_web(context), "NPS")
    assert "25.0" in html and "95% CI 12.3–37.7" in html and "n = 120" in html
    assert "1 day: 30.0 · 28 days: 22.5" in html


def test_an_absent_metric_shows_no_data_never_zero(context: dict) -> None:
    mentions = tiles(context)["mention_count"]
    assert mentions["has_data"] is False
    assert (mentions["value"], mentions["day1"], mentions["day28"]) == ("no data",) * 3
    for html in (render_web(context), email_parts(render_email(context, Recipient("a@example.com", "A")))["text/html"]):
        tile = tile_html(html, "Mentions")
        assert "no data" in tile
        assert not re.search(r">\s*0(\.0+)?\s*<", tile)
    assert tiles(context)["csat"]["day1"] == "no data"


def test_a_failed_source_is_named_at_the_top(context: dict) -> None:
    assert context["notices"] == [{"source": "x", "status": "failed", "message": "x: cannot parse a.jsonl line 3",
                                   "freshness": "never loaded"}]
    html = render_web(context)
    assert html.index("x: cannot parse a.jsonl line 3") < html.index("<h2>Headlines</h2>")
    text = email_parts(render_email(context, Recipient("a@example.com", "A")))["text/plain"]
    assert text.index("x: failed - x: cannot parse a.jsonl line 3 (never loaded)") < text.index("HEADLINES")


def test_a_source_without_a_run_is_named_too(engine: sa.Engine, config: PipelineConfig) -> None:
    extra = replace(config, sources=(*config.sources, SourceConfig("survey_b", "survey", "qualtrics_csv", path="p")))
    with engine.connect() as conn:
        notices = build_context(conn, DAY, extra)["notices"]
    assert [(n["source"], n["status"]) for n in notices] == [("x", "failed"), ("survey_b", "not run")]


def test_segment_tables_hold_seven_day_values_per_segment(context: dict) -> None:
    tables = {t["dimension"]: t for t in context["segments"]}
    assert set(tables) == {"source", "product"}  # dimensions without rows are left out
    by_source = tables["source"]
    assert by_source["columns"] == ["NPS", "CSAT", "Average rating", "Net sentiment"]
    assert [r["label"] for r in by_source["rows"]] == ["trustpilot", "nps_survey"]  # config order, with data
    rows = {r["label"]: r["cells"] for r in by_source["rows"]}
    assert rows["nps_survey"][0] == {"value": "25.0", "n": "120"}
    assert rows["trustpilot"][2] == {"value": "4.20 / 5", "n": "1,204"}
    assert rows["trustpilot"][0] == {"value": "no data", "n": None}
    assert tables["product"]["rows"] == [{"label": "widget", "cells": [
        {"value": "99.0", "n": "1"}, *[{"value": "no data", "n": None}] * 3]}]
    html = render_web(context)
    assert "<h2>By source</h2>" in html and "<h2>By product</h2>" in html and "<h2>By location</h2>" not in html


def test_verbatims_are_the_extremes_of_the_seven_days(context: dict) -> None:
    positive = [v["text"] for v in context["verbatims"]["positive"]]
    negative = [v["text"] for v in context["verbatims"]["negative"]]
    assert positive == [XSS, "positive comment 0", "positive comment 1", "positive tie", "positive comment 2"]
    assert negative == [f"negative comment {i}" for i in range(5)]
    first = context["verbatims"]["negative"][0]
    assert (first["source"], first["date"], first["nps"], first["rating"]) == ("nps_survey", "2026-01-15", "0", None)


def test_customer_text_is_escaped_in_html_and_literal_in_plain_text(context: dict) -> None:
    message = render_email(context, Recipient("a@example.com", "A", kind="weekly", weekday="thursday"))
    parts = email_parts(message)
    for html in (render_web(context), parts["text/html"]):
        assert "Loved it &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(1)&gt;" in html
        assert "<script" not in html and "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert XSS in parts["text/plain"]


def test_quality_footer_shows_the_latest_runs_accounting(context: dict) -> None:
    quality = {q["source"]: q for q in context["quality"]["sources"]}
    assert quality["trustpilot"] == {"source": "trustpilot", "status": "success", "rows_in": "100",
                                     "rows_loaded": "95", "rows_quarantined": "3", "rows_duplicate": "2",
                                     "in_quarantine": "3", "last_success": "2026-01-15"}
    assert quality["nps_survey"]["rows_in"] == "50"  # run r2, not the failed r1
    assert quality["x"]["rows_in"] == "—" and quality["x"]["status"] == "failed"
    assert quality["x"]["last_success"] == "never"


def test_web_page_is_self_contained_and_accessible(context: dict) -> None:
    html = render_web(context)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<title>Acme CX report — Thursday 15 January 2026</title>" in html
    for external in ("<link", "<script", "<img", "@import"):
        assert external not in html
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
    assert not re.search(r"url\((?!#)", html)  # only references to the page's own SVG clip paths
    levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert '<svg role="img" aria-label="NPS, 7-day value over the last 28 days: from 20.0 to 25.0' in html


def test_an_empty_warehouse_renders_no_data(tmp_path: Path, config: PipelineConfig) -> None:
    engine = make_engine(f"duckdb:///{tmp_path}/empty.duckdb")
    migrate(engine)
    with engine.connect() as conn:
        context = build_context(conn, DAY, config)
    engine.dispose()
    assert {t["value"] for t in context["tiles"]} == {"no data"}
    assert context["preheader"] == "No feedback in the last 7 days"
    assert [n["status"] for n in context["notices"]] == ["not run"] * 3
    assert "No positive feedback in this window." in render_web(context)


# -- email and files ---------------------------------------------------------------------------


def test_deliver_writes_one_parseable_eml_per_recipient(engine, settings, config) -> None:
    deliveries = deliver(engine, settings, config, DAY)
    outbox = settings.outbox_dir / "2026-01-15"
    assert [(d.status, d.path) for d in deliveries] == [
        ("written", outbox / "cx-leads@example.com.eml"), ("written", outbox / "exec@example.com.eml")]
    message = email.message_from_bytes(deliveries[1].path.read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "multipart/related"]
    assert message["To"] == "Executive team <exec@example.com>"
    assert message["Subject"].startswith("Acme CX report — Thursday 15 January 2026: NPS 25.0")
    assert message["Date"] == "Fri, 16 Jan 2026 00:00:00 +0000"
    assert re.fullmatch(r"<cx-report-2026-01-15-[0-9a-f]{24}@cx-pipeline>", message["Message-ID"])
    html = email_parts(message)["text/html"]
    assert "Hello Executive team," in html and 'width="640"' in html and "<svg" not in html
    assert "display:none" in html.split("<main>")[0]  # hidden preheader before the content


def test_rerun_delivers_nothing_twice_unless_resent(engine, settings, config) -> None:
    first = {d.path: d.path.read_bytes() for d in deliver(engine, settings, config, DAY)}
    again = deliver(engine, settings, config, DAY)
    assert [d.status for d in again] == ["skipped", "skipped"]
    assert {p: p.read_bytes() for p in first} == first
    resent = deliver(engine, settings, config, DAY, resend=True)
    assert [d.status for d in resent] == ["written", "written"]
    assert {d.path: d.path.read_bytes() for d in resent} == first  # same marts, same bytes
    assert sorted(p.name for p in (settings.outbox_dir / "2026-01-15").iterdir()) == [
        "cx-leads@example.com.eml", "exec@example.com.eml"]
    with engine.connect() as conn:
        ledger = conn.execute(sa.text("select recipient, kind, status, message_id from ops.report_deliveries "
                                      "order by recipient")).all()
    assert [(r.recipient, r.kind, r.status) for r in ledger] == [
        ("cx-leads@example.com", "daily", "written"), ("exec@example.com", "daily", "written")]
    assert ledger[0].message_id == resent[0].message_id


def test_rendering_twice_is_byte_identical(engine, settings, config, context) -> None:
    path = write_report(engine, settings, config, DAY)
    assert path == settings.reports_dir / "2026-01-15" / "cx_report_2026-01-15.html"
    page = path.read_bytes()
    assert write_report(engine, settings, config, DAY).read_bytes() == page
    assert render_web(context).encode() == page
    recipient = Recipient("a@example.com", "A")
    assert render_email(context, recipient).as_bytes() == render_email(context, recipient).as_bytes()


# -- recipients.yml ----------------------------------------------------------------------------


def test_load_recipients_reads_the_example(config: PipelineConfig) -> None:
    recipients = load_recipients(config.path.parent / "recipients.yml")
    assert recipients == [
        Recipient("cx-leads@example.com", "CX leads"),
        Recipient("exec@example.com", "Executive team"),
    ]
    with pytest.raises(FrozenInstanceError):
        recipients[0].email = "other@example.com"  # type: ignore[misc]


def test_the_shipped_recipients_file_is_valid() -> None:
    shipped = Path(__file__).resolve().parents[2] / "config" / "recipients.yml"
    assert [(r.kind, r.weekday, r.cut) for r in load_recipients(shipped)] == [
        ("daily", None, None), ("weekly", "monday", None), ("weekly", "monday", ("location", "Manchester"))]


def test_load_recipients_reads_kinds_weekdays_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "recipients.yml"
    path.write_text("recipients:\n  - {email: a@example.com, name: A, kind: weekly, weekday: Friday}\n"
                    "  - {email: a@example.com, name: A, filters: {product: Widget Pro}}\n")
    assert load_recipients(path) == [Recipient("a@example.com", "A", "weekly", "friday"),
                                     Recipient("a@example.com", "A", "daily", None, (("product", "Widget Pro"),))]


@pytest.mark.parametrize(("text", "where"), [
    ("recipients:\n  - email: not-an-address\n    name: A\n", ":2: recipients.0.email: 'not-an-address'"),
    ("recipients:\n  - email: a@example.com\n", ":2: recipients.0: missing required key 'name'"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    kind: hourly\n", ":4: recipients.0.kind: unknown kind"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    cc: b@example.com\n", ":4: recipients.0.cc: unknown key"),
    ("recipients:\n  - {email: a@example.com, name: A}\n  - {email: A@example.com, name: B}\n",
     ":3: recipients.1.email: duplicate recipient"),
    ("recipients:\n  - email: ../../etc/passwd@x\n    name: A\n", ":2: recipients.0.email:"),
    ("recipients: []\n", ":1: recipients: expected a non-empty list"),
    ("recipients:\n  - {email: a@example.com, name: A, kind: weekly}\n", ":2: recipients.0: a weekly recipient needs"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    kind: weekly\n    weekday: funday\n",
     ":5: recipients.0.weekday: unknown weekday 'funday'"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    weekday: monday\n",
     ":4: recipients.0.weekday: only a weekly recipient"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    filters:\n      region: North\n",
     ":5: recipients.0.filters.region: unknown filter 'region'"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    filters: [London]\n",
     ":4: recipients.0.filters: expected a mapping"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    filters: {location: A, product: B}\n",
     ":4: recipients.0.filters: a recipient's cut filters on one key"),
    ("people: []\n", ":1: (top level): expected a mapping with a 'recipients' list"),
    ("recipients:\n  - email: a@example.com\n    name: A\n   kind: daily\n", ":4: malformed YAML"),
])
def test_load_recipients_errors_name_the_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "recipients.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        load_recipients(path)
    assert str(excinfo.value).startswith(f"{path}:")
    assert where in str(excinfo.value)


def test_deliver_without_a_recipients_file_is_a_config_error(engine, settings, config) -> None:
    (config.path.parent / "recipients.yml").unlink()
    with pytest.raises(ConfigError, match="recipients.yml: config file not found"):
        deliver(engine, settings, config, DAY)


# -- sections from the analytic marts ------------------------------------------------------------

TS = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def tagged(fid: str, score: float, level: str | None, day: date = DAY, source: str = "trustpilot",
           location: str | None = None, text: str | None = None) -> dict:
    return {**feedback(fid, score, text or f"{level} comment {fid}", day=day, source=source),
            "pyramid_level": level, "location": location}


ANALYTIC_FEEDBACK = [
    *(tagged(f"u{i}", -0.5, "utility") for i in range(4)), tagged("u4", 0.5, "utility"),
    tagged("s0", -0.5, "usability"), tagged("p0", 0.6, "pleasure"), tagged("p1", 0.7, "pleasure"),
    tagged("late1", -0.9, None, day=DAY - timedelta(days=1), text="Parcel late again, nobody answers"),
    tagged("late2", -0.2, None, day=DAY - timedelta(days=1), source="x", text="other source, same day"),
    tagged("leeds1", -0.8, None, location="leeds", text="Leeds store queue was awful"),
    tagged("york1", -0.7, None, location="york", text="York store had no stock"),
]


@pytest.fixture
def analytic_engine(settings: Settings):
    engine = make_engine(settings.warehouse_url)
    migrate(engine)
    with engine.begin() as conn:
        add_dimension_members(conn, ANALYTIC_FEEDBACK)
        conn.execute(sa.text(
            "insert into marts.fct_feedback (feedback_id, family, source, occurred_at, feedback_date, text, "
            "sentiment_score, sentiment_label, rating, nps, pyramid_level, location) values (:feedback_id, "
            ":family, :source, :occurred_at, :feedback_date, :text, :sentiment_score, :sentiment_label, :rating, "
            ":nps, :pyramid_level, :location)"), ANALYTIC_FEEDBACK)
        conn.execute(sa.text("insert into marts.theme_impact values (:d, :w, :t, :m, :i, :lo, :hi, :nw, 80)"), [
            {"d": DAY, "w": 7, "t": "late_delivery", "m": "nps", "i": -12.34, "lo": -20.1, "hi": -4.5, "nw": 40},
            {"d": DAY, "w": 7, "t": "staff", "m": "nps", "i": 5.0, "lo": 1.0, "hi": 9.0, "nw": 30},
            {"d": DAY, "w": 7, "t": "price", "m": "avg_rating", "i": -0.123, "lo": None, "hi": None, "nw": 12},
            {"d": DAY, "w": 28, "t": "late_delivery", "m": "nps", "i": -30.0, "lo": None, "hi": None, "nw": 9},
        ])
        conn.execute(sa.text("insert into marts.emerging_terms values (:d, :t, :r, :b, :l)"), [
            {"d": DAY, "t": "app crash", "r": 9, "b": 3, "l": 3.0},
            {"d": DAY, "t": "refund portal", "r": 12, "b": 2, "l": 6.0},
            {"d": DAY - timedelta(days=1), "t": "yesterday", "r": 99, "b": 1, "l": 99.0},
        ])
        conn.execute(sa.text("insert into marts.anomalies values (:d, 'net_sentiment', 'source', 'trustpilot', "
                             "-40.0, 10.0, 12.0, -4.17)"), {"d": DAY - timedelta(days=1)})
        conn.execute(sa.text("insert into marts.anomalies values (:d, 'volume', 'all', 'all', 420, 200, 50, 4.4)"),
                     {"d": DAY})
        # two customers at risk on DAY: their spans, and the verbatim and link the list shows
        conn.execute(sa.text("insert into marts.risk_spans values (:h, 'trustpilot', :f, :at, "
                             "'1-2 star review, no reply', :d, :d)"), [
            {"h": "abc123def456789", "f": "tp:r1", "at": TS, "d": DAY},
            {"h": "fff000", "f": "tp:r2", "at": TS - timedelta(hours=1), "d": DAY},
        ])
        conn.execute(sa.text("insert into marts.fct_feedback (feedback_id, family, source, occurred_at, "
                             "feedback_date, text, url) values (:f, 'review', 'trustpilot', :at, :d, :t, :u)"), [
            {"f": "tp:r1", "at": TS, "d": DAY, "t": "Call me on +44 20 7946 0958 <b>now</b>",
             "u": "https://tp.example/r1"},
            {"f": "tp:r2", "at": TS - timedelta(hours=1), "d": DAY, "t": "bad", "u": "javascript:alert(1)"},
        ])
        conn.execute(sa.text("insert into marts.channel_consistency values (:d, 'touchpoint', 35.5, 4, 'delivery', "
                             "-22.3)"), {"d": DAY})
        conn.execute(sa.text("insert into ops.schema_drift values ('r2', 'trustpilot', :d, '/landing/tp/a.json', "
                             "'renamed', 'stars', 'now rating', :at)"), {"d": DAY, "at": TS})
        conn.execute(sa.text("insert into ops.validation_results values ('r2', 'trustpilot', :d, 'review', "
                             "'expect_column_values_to_be_between', 'rating', 'warning', false, 3, 100)"), {"d": DAY})
        conn.execute(sa.text(
            "insert into marts.kpi_daily values (:d, 7, 'nps', 'location', 'leeds', -50.0, 4, -90.0, -10.0)"),
            {"d": DAY})
    yield engine
    engine.dispose()


@pytest.fixture
def analytic_context(analytic_engine: sa.Engine, config: PipelineConfig) -> dict:
    with analytic_engine.connect() as conn:
        return build_context(conn, DAY, config)


def test_pyramid_shares_and_the_foundations_first_flag(analytic_context: dict) -> None:
    pyramid = analytic_context["pyramid"]
    # 8 tagged items: utility 5 (62.5%, net 100·(1 − 4)/5 = −60), usability 1 (12.5%, −100),
    # pleasure 2 (25%, +100); complaints 5 of which utility 4 = 80% > 50% -> foundations first
    assert [(r["level"], r["n"], r["share"], r["net_sentiment"], r["complaints"]) for r in pyramid["rows"]] == [
        ("utility", "5", "62.5%", "-60.0", "80.0%"), ("usability", "1", "12.5%", "-100.0", "20.0%"),
        ("pleasure", "2", "25.0%", "100.0", "0.0%")]
    assert pyramid["foundations_first"] and pyramid["utility_complaints"] == "80%"
    html = render_web(analytic_context)
    assert "Foundations first:" in html and "80% of complaints" in html
    assert 'aria-label="Net sentiment by CX-pyramid level: Utility -60.0, Usability -100.0, Pleasure 100.0"' in html


def test_no_flag_when_utility_complaints_do_not_dominate(analytic_engine, config) -> None:
    with analytic_engine.begin() as conn:
        conn.execute(sa.text("update marts.fct_feedback set pyramid_level = 'usability' where feedback_id = 'u0'"))
        conn.execute(sa.text("update marts.fct_feedback set pyramid_level = 'usability' where feedback_id = 'u1'"))
        context = build_context(conn, DAY, config)
    # utility complaints 2 of 5 = 40%
    assert not context["pyramid"]["foundations_first"]
    assert "Foundations first" not in render_web(context)


def test_themes_are_ranked_by_impact_with_their_intervals(analytic_context: dict) -> None:
    themes = analytic_context["themes"]
    assert [(t["theme"], t["metric"], t["impact"], t["interval"], t["n_with"], t["window"]) for t in themes] == [
        ("late delivery", "NPS", "−12.3", "−20.1 to −4.5", "40", "7 days"),  # the 28-day row is not mixed in
        ("staff", "NPS", "+5.0", "+1.0 to +9.0", "30", "7 days"),
        ("price", "rating", "−0.12", None, "12", "7 days"),
    ]
    assert [e["term"] for e in analytic_context["emerging"]] == ["refund portal", "app crash"]
    assert analytic_context["emerging"][0]["lift"] == "×6.0"


def test_anomalies_come_with_the_verbatims_that_drive_them(analytic_context: dict) -> None:
    volume, anomaly = analytic_context["anomalies"]  # newest first
    assert (volume["metric"], volume["segment"], volume["value"], volume["baseline"], volume["direction"]) == (
        "Volume", "all feedback", "420 items", "200 items ± 150 items", "above")
    assert volume["verbatims"][0]["text"] == "Leeds store queue was awful"  # the day's most negative item
    assert (anomaly["date"], anomaly["metric"], anomaly["segment"], anomaly["value"], anomaly["baseline"],
            anomaly["direction"]) == ("2026-01-14", "Net sentiment", "source trustpilot", "-40.0", "10.0 ± 36.0",
                                      "below")
    # the negative feedback of that day and source only
    assert [v["text"] for v in anomaly["verbatims"]] == ["Parcel late again, nobody answers"]


def test_close_the_loop_lists_customers_redacted_and_the_weakest_touchpoint(analytic_context: dict) -> None:
    loop = analytic_context["close_loop"]
    assert loop["weakest"] == [{"dimension": "touchpoint", "value": "delivery", "net_sentiment": "-22.3",
                                "spread": "35.5", "segments": "4"}]
    first, second = loop["customers"]
    assert (first["customer"], first["text"], first["url"]) == (
        "abc123def456", "Call me on [phone] <b>now</b>", "https://tp.example/r1")
    assert second["url"] is None  # only https links are shown
    html = render_web(analytic_context)
    assert "Call me on [phone] &lt;b&gt;now&lt;/b&gt;" in html and "7946" not in html
    assert "javascript:" not in html


def test_quality_footer_names_schema_drift_and_failed_checks(analytic_context: dict) -> None:
    quality = analytic_context["quality"]
    assert quality["drift"] == [{"source": "trustpilot", "file": "a.json", "change": "renamed", "column": "stars",
                                 "detail": "now rating"}]
    assert quality["checks"] == [{"source": "trustpilot", "expectation": "expect_column_values_to_be_between",
                                  "column": "rating", "severity": "warning", "unexpected": "3"}]
    html = render_web(analytic_context)
    assert "<h3>Schema drift</h3>" in html and "<h3>Validation warnings</h3>" in html


def test_empty_analytic_tables_hide_their_sections(context: dict) -> None:
    html = render_web(context)
    for heading in ("CX pyramid", "Top themes", "Emerging terms", "Anomalies", "Close the loop"):
        assert f"<h2>{heading}</h2>" not in html
    assert "<h2>Trends</h2>" in html  # the NPS series has three 7-day points
    assert "<h3>Schema drift</h3>" not in html


def test_a_cut_shows_only_its_segment(analytic_engine, config) -> None:
    with analytic_engine.connect() as conn:
        leeds = build_context(conn, DAY, config, cut=("location", "leeds"))
    nps = tiles(leeds)["nps"]
    assert (nps["value"], nps["n"], nps["interval"]) == ("-50.0", "4", "-90.0–-10.0")
    assert [v["text"] for v in leeds["verbatims"]["negative"]] == ["Leeds store queue was awful"]
    assert leeds["segments"] == [] and leeds["themes"] == [] and leeds["close_loop"]["weakest"] == []
    assert leeds["close_loop"]["customers"] == []  # neither at-risk item is a Leeds one
    assert leeds["title"] == "Acme CX report — leeds — Thursday 15 January 2026"
    recipient = Recipient("leeds@example.com", "Leeds", filters=(("location", "leeds"),))
    parts = email_parts(render_email(leeds, recipient))
    for body in parts.values():
        assert "Leeds store queue was awful" in body and "York" not in body


def test_weekly_recipients_are_due_on_their_weekday_only() -> None:
    weekly = Recipient("w@example.com", "W", kind="weekly", weekday="thursday")
    assert weekly.is_due(DAY) and not weekly.is_due(DAY + timedelta(days=1))  # 15 Jan 2026 is a Thursday
    assert Recipient("d@example.com", "D").is_due(DAY + timedelta(days=1))


def test_the_archive_index_lists_reports_newest_first(engine, settings, config) -> None:
    (settings.reports_dir / "notes").mkdir(parents=True)
    (settings.reports_dir / "notes" / "cx_report_2026-01-01.html").write_text("misplaced")
    write_report(engine, settings, config, DAY - timedelta(days=1))
    write_report(engine, settings, config, DAY)
    index = (settings.reports_dir / "index.html").read_text()
    assert index.index('href="2026-01-15/cx_report_2026-01-15.html"') < index.index(
        'href="2026-01-14/cx_report_2026-01-14.html"')
    assert "Thursday 15 January 2026" in index and "notes/" not in index

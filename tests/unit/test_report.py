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
    kpi(DAY, 7, "nps", 99.0, 1, segment=("product", "widget")),  # other segment types stay out
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
        # the facts' foreign keys need their dimension members first
        conn.execute(sa.text("insert into marts.dim_source values (:source, :family, 'test')"),
                     list({f["source"]: {"source": f["source"], "family": f["family"]} for f in FEEDBACK}.values()))
        conn.execute(sa.text(
            "insert into marts.dim_date values (:d, extract(year from :d), extract(quarter from :d), "
            "extract(month from :d), extract(week from :d), extract(isodow from :d), extract(isodow from :d) > 5)"),
            [{"d": d} for d in sorted({f["feedback_date"] for f in FEEDBACK})])
        conn.execute(sa.text(
            "insert into marts.fct_feedback (feedback_id, family, source, occurred_at, feedback_date, text, "
            "sentiment_score, sentiment_label, rating, nps) values (:feedback_id, :family, :source, "
            ":occurred_at, :feedback_date, :text, :sentiment_score, :sentiment_label, :rating, :nps)"), FEEDBACK)
        conn.execute(sa.text(
            "insert into ops.source_runs values (:run_id, :source, :day, :status, :message, 1, :finished_at)"),
            [{**r, "day": DAY, "finished_at": datetime(2026, 1, 16, r["at"], tzinfo=UTC)} for r in SOURCE_RUNS])
        conn.execute(sa.text("insert into ops.row_accounting values (:run_id, :source, :day, :rows_in, :loaded, "
                             ":quarantined, :duplicate)"), [{**a, "day": DAY} for a in ACCOUNTING])
        conn.execute(sa.text("insert into ops.quarantine values ('r2', 'trustpilot', :d, 'a.json', :line, "
                             "'rating out of range', '{}')"), [{"d": DAY, "line": i} for i in range(3)])


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
    start = html.index(f"<h3>{label}</h3>")
    return html[start:html.index("</td>", start)]


def email_parts(message: email.message.EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


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
    assert context["notices"] == [{"source": "x", "status": "failed", "message": "x: cannot parse a.jsonl line 3"}]
    html = render_web(context)
    assert html.index("x: cannot parse a.jsonl line 3") < html.index("<h2>Headlines</h2>")
    text = email_parts(render_email(context, Recipient("a@example.com", "A")))["text/plain"]
    assert text.index("x: failed - x: cannot parse a.jsonl line 3") < text.index("HEADLINES")


def test_a_source_without_a_run_is_named_too(engine: sa.Engine, config: PipelineConfig) -> None:
    extra = replace(config, sources=(*config.sources, SourceConfig("survey_b", "survey", "qualtrics_csv", path="p")))
    with engine.connect() as conn:
        notices = build_context(conn, DAY, extra)["notices"]
    assert [(n["source"], n["status"]) for n in notices] == [("x", "failed"), ("survey_b", "not run")]


def test_by_source_table_holds_seven_day_values_per_source(context: dict) -> None:
    table = context["by_source"]
    assert table["sources"] == ["trustpilot", "x", "nps_survey"]
    rows = {row["label"]: row["cells"] for row in table["rows"]}
    assert set(rows) == {"NPS", "Average rating", "Reviews"}  # metrics no source has are left out
    assert rows["NPS"] == [{"value": "no data", "n": None}, {"value": "no data", "n": None},
                           {"value": "25.0", "n": "120"}]
    assert rows["Average rating"][0] == {"value": "4.20 / 5", "n": "1,204"}


def test_verbatims_are_the_extremes_of_the_seven_days(context: dict) -> None:
    positive = [v["text"] for v in context["verbatims"]["positive"]]
    negative = [v["text"] for v in context["verbatims"]["negative"]]
    assert positive == [XSS, "positive comment 0", "positive comment 1", "positive tie", "positive comment 2"]
    assert negative == [f"negative comment {i}" for i in range(5)]
    first = context["verbatims"]["negative"][0]
    assert (first["source"], first["date"], first["nps"], first["rating"]) == ("nps_survey", "2026-01-15", "0", None)


def test_customer_text_is_escaped_in_html_and_literal_in_plain_text(context: dict) -> None:
    message = render_email(context, Recipient("a@example.com", "A"))
    parts = email_parts(message)
    for html in (render_web(context), parts["text/html"]):
        assert "Loved it &lt;script&gt;alert(1)&lt;/script&gt; and &lt;img src=x onerror=alert(1)&gt;" in html
        assert "<script" not in html and "<img" not in html
    assert XSS in parts["text/plain"]


def test_quality_footer_shows_the_latest_runs_accounting(context: dict) -> None:
    quality = {q["source"]: q for q in context["quality"]}
    assert quality["trustpilot"] == {"source": "trustpilot", "status": "success", "rows_in": "100",
                                     "rows_loaded": "95", "rows_quarantined": "3", "rows_duplicate": "2",
                                     "in_quarantine": "3"}
    assert quality["nps_survey"]["rows_in"] == "50"  # run r2, not the failed r1
    assert quality["x"]["rows_in"] == "—" and quality["x"]["status"] == "failed"


def test_web_page_is_self_contained_and_accessible(context: dict) -> None:
    html = render_web(context)
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert "<title>Acme CX report — Thursday 15 January 2026</title>" in html
    for external in ("<link", "<script", "<img", "url(", "@import"):
        assert external not in html
    levels = [int(level) for level in re.findall(r"<h([1-6])[ >]", html)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))
    assert '<svg class="spark" role="img"' in html  # the NPS trend has three 7-day points


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
    paths = deliver(engine, settings, config, DAY)
    outbox = settings.outbox_dir / "2026-01-15"
    assert paths == [outbox / "cx-leads@example.com.eml", outbox / "exec@example.com.eml"]
    message = email.message_from_bytes(paths[1].read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == "Executive team <exec@example.com>"
    assert message["Subject"].startswith("Acme CX report — Thursday 15 January 2026: NPS 25.0")
    assert message["Date"] == "Fri, 16 Jan 2026 00:00:00 +0000"
    assert re.fullmatch(r"<cx-report-2026-01-15-[0-9a-f]{24}@cx-pipeline>", message["Message-ID"])
    html = email_parts(message)["text/html"]
    assert "Hello Executive team," in html and 'width="640"' in html and "<svg" not in html
    assert "display:none" in html.split("<main>")[0]  # hidden preheader before the content


def test_rerun_overwrites_with_identical_bytes(engine, settings, config) -> None:
    first = {p: p.read_bytes() for p in deliver(engine, settings, config, DAY)}
    second = {p: p.read_bytes() for p in deliver(engine, settings, config, DAY)}
    assert first == second
    assert sorted(p.name for p in (settings.outbox_dir / "2026-01-15").iterdir()) == [
        "cx-leads@example.com.eml", "exec@example.com.eml"]


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
    assert all(r.kind == "daily" for r in load_recipients(shipped))


@pytest.mark.parametrize(("text", "where"), [
    ("recipients:\n  - email: not-an-address\n    name: A\n", ":2: recipients.0.email: 'not-an-address'"),
    ("recipients:\n  - email: a@example.com\n", ":2: recipients.0: missing required key 'name'"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    kind: hourly\n", ":4: recipients.0.kind: unknown kind"),
    ("recipients:\n  - email: a@example.com\n    name: A\n    cc: b@example.com\n", ":4: recipients.0.cc: unknown key"),
    ("recipients:\n  - {email: a@example.com, name: A}\n  - {email: A@example.com, name: B}\n",
     ":3: recipients.1.email: duplicate recipient"),
    ("recipients:\n  - email: ../../etc/passwd@x\n    name: A\n", ":2: recipients.0.email:"),
    ("recipients: []\n", ":1: recipients: expected a non-empty list"),
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
    with pytest.raises(ConfigError, match="recipients.yml: recipients file not found"):
        deliver(engine, settings, config, DAY)

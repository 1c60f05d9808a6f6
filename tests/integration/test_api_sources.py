"""`url:` sources through `Pipeline.run_day` on a real warehouse, served by a loopback vendor API.

The day is 10 March 2026 (London = UTC then). Trustpilot serves, newest first, reviews r0..r4 on
the day (5, 4, 4, 1, 2 stars), r5 the evening before (3 stars, inside the 1-day overlap), r6 the
day after and r7 three days before (both outside the window). Pages of 2 with a repeat: every page
after the first starts with the last review of the page before. X serves 3 posts on the day.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug import Response

from pipelines.config import load_config
from pipelines.errors import SourceError
from pipelines.run import Pipeline
from pipelines.sources.api.cursors import read_cursor
from tests.integration import vendor_api as v

D = date(2026, 3, 10)
TP_TOKEN = "tp-Secret-9f8e7d"
X_TOKEN = "x-Secret-1a2b3c"
STARS = [5, 4, 4, 1, 2]


def review(rid: str, at: str, stars: int, updated: str | None = None) -> dict:
    return {"id": rid, "stars": stars, "title": f"Title {rid}", "text": f"Text of {rid}", "language": "en",
            "createdAt": at, "updatedAt": updated, "consumer": {"id": f"c-{rid}", "displayName": f"Name {rid}"},
            "businessUnit": {"id": "bu1"}, "status": "active", "reply": None}


REVIEWS = [
    review("r6", "2026-03-11T10:00:00.000Z", 5),
    *[review(f"r{i}", f"2026-03-10T{h:02d}:00:00.000Z", s) for i, (h, s) in enumerate(zip([20, 18, 15, 12, 9], STARS,
                                                                                     strict=True))],
    review("r5", "2026-03-09T20:00:00.000Z", 3),
    review("r7", "2026-03-07T08:00:00.000Z", 1),
]
POSTS = [{"id": f"18000000000000000{i}", "text": t, "created_at": f"2026-03-10T1{i}:00:00.000Z", "author_id": f"u{i}",
          "lang": "en", "public_metrics": {"retweet_count": 1, "reply_count": 0, "like_count": i}}
         for i, t in enumerate(["Love @Acme", "@Acme down again", "@Globex is fine"])]


def authorised(token: str, handler: v.Handler) -> v.Handler:
    """A vendor that answers 401 unless the bearer token is the right one."""

    def handle(request):
        if request.headers.get("Authorization") != f"Bearer {token}":
            return Response('{"message": "Unauthorized"}', status=401)
        return handler(request)

    return handle


@pytest.fixture(scope="module")
def loopback():
    with v.loopback_server() as srv:
        yield srv


@pytest.fixture
def api(loopback, tmp_path, warehouse_url, monkeypatch):
    """A pipeline whose sources.yml has two `url:` sources on the loopback server."""
    loopback.clear()
    monkeypatch.setenv("CX_HTTP_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("TP_TOKEN", TP_TOKEN)
    monkeypatch.setenv("X_TOKEN", X_TOKEN)
    monkeypatch.setenv("CX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CX_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("CX_PII_KEY", "test-key")
    config = tmp_path / "sources.yml"
    config.write_text(f"""\
timezone: Europe/London
brand: Acme
competitors: [Globex]
sources:
  - name: trustpilot_api
    family: review
    format: trustpilot_json
    url: "{loopback.url_for('/v1/business-units/{business_unit}/reviews')}"
    params: {{business_unit: bu1}}
    auth: {{type: bearer, token_env: TP_TOKEN}}
    page_size: 2
    budget_seconds: 3
    incremental: {{overlap: 1d}}
  - name: x_api
    family: mention
    format: x_jsonl
    url: "{loopback.url_for('/2/tweets/search/recent')}"
    params: {{query: "@Acme OR @Globex"}}
    auth: {{type: bearer, token_env: X_TOKEN}}
    page_size: 10
""")
    pipeline = Pipeline.from_env(config)
    assert load_config(config).sources[0].url
    pipeline.init_db()
    pipeline.trustpilot = v.serve(loopback, "/v1/business-units/bu1/reviews",
                                  authorised(TP_TOKEN, v.trustpilot(REVIEWS, repeat=True)))
    pipeline.x = v.serve(loopback, "/2/tweets/search/recent", authorised(X_TOKEN, v.x_search(POSTS)))
    yield pipeline
    pipeline.engine.dispose()


def scalar(engine: sa.Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def raw_rows(engine: sa.Engine, source: str) -> int:
    """Rows in raw.<source>; 0 when the table was never committed (its creation rolled back too)."""
    with engine.connect() as conn:
        exists = conn.execute(sa.text("select count(*) from information_schema.tables where table_schema = 'raw' "
                                      "and table_name = :t"), {"t": source}).scalar_one()
        return conn.execute(sa.text(f"select count(*) from raw.{source}")).scalar_one() if exists else 0


def cursor(engine: sa.Engine, source: str = "trustpilot_api") -> datetime | None:
    with engine.connect() as conn:
        return read_cursor(conn, source)


def test_api_sources_land_in_staging_and_marts(api):
    summary = api.run_day(D, deliver=False)
    assert not summary.failed
    tp = next(s for s in summary.sources if s.source == "trustpilot_api")
    # pages [r0 r1] [r1 r2 r3] [r3 r4 r5]: 8 rows in, r1 and r3 twice
    assert (tp.files, tp.rows_in, tp.rows_loaded, tp.rows_duplicate, tp.rows_quarantined) == (3, 8, 6, 2, 0)
    first = api.trustpilot.requests[0].args
    assert (first["startDateTime"], first["endDateTime"]) == ("2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z")
    e = api.engine
    assert scalar(e, "select count(*) from staging.stg_review where source = 'trustpilot_api'") == 6
    assert scalar(e, "select count(distinct review_id) from staging.stg_review") == 6
    assert scalar(e, "select count(*) from marts.fct_mention where source = 'x_api'") == 3
    with e.connect() as conn:
        value, n = conn.execute(sa.text(
            "select value, sample_size from marts.kpi_daily where kpi_date = :d and window_days = 1 and "
            "metric = 'avg_rating' and segment_type = 'all'"), {"d": D}).one()
        assert (value, n) == (pytest.approx(16 / 5), 5)  # (5 + 4 + 4 + 1 + 2) / 5; r5 belongs to the 9th
        late = conn.execute(sa.text(
            "select feedback_date from marts.fct_review where review_id = 'r5'")).scalar_one()
        assert late == date(2026, 3, 9)
        page = conn.execute(sa.text("select _file from raw.trustpilot_api where item_id = 'r4'")).scalar_one()
        assert page.startswith("http://127.0.0.1:") and "page=3" in page
    assert cursor(e) == datetime(2026, 3, 11, tzinfo=UTC)
    assert scalar(e, "select run_id from ops.source_cursors where source = 'x_api'") == summary.run_id


def test_the_next_day_starts_at_the_cursor_less_the_overlap_and_rerunning_duplicates_nothing(api):
    api.run_day(D, deliver=False)
    # the 1-star review r3 is edited on the 11th, a new review arrives on the 11th
    later = [review("r8", "2026-03-11T09:00:00.000Z", 4),
                    *[review("r3", r["createdAt"], 3, "2026-03-11T08:00:00.000Z") if r["id"] == "r3" else r
                      for r in REVIEWS]]
    api.trustpilot.handler = authorised(TP_TOKEN, v.trustpilot(later))
    summary = api.run_day(D + timedelta(days=1), deliver=False)
    tp = next(s for s in summary.sources if s.source == "trustpilot_api")
    args = api.trustpilot.requests[-1].args
    assert args["startDateTime"] == "2026-03-10T00:00:00Z"  # cursor (11th 00:00) less 1 day
    # r6, r8 are new; r3 is a newer version; r0, r1, r2, r4 repeat from the overlap
    assert (tp.rows_in, tp.rows_loaded, tp.rows_duplicate) == (7, 3, 4)
    e = api.engine
    assert scalar(e, "select count(*) from staging.stg_review") == 8
    assert scalar(e, "select rating from marts.fct_review where review_id = 'r3'") == 3
    assert cursor(e) == datetime(2026, 3, 12, tzinfo=UTC)
    raw = raw_rows(e, "trustpilot_api")
    rerun = api.run_day(D + timedelta(days=1), deliver=False)
    assert next(s for s in rerun.sources if s.source == "trustpilot_api").rows_loaded == 0
    assert scalar(e, "select count(*) from staging.stg_review") == 8
    assert raw_rows(e, "trustpilot_api") == raw == 8 + 7  # the same pages again: their raw rows replaced
    assert cursor(e) == datetime(2026, 3, 12, tzinfo=UTC)  # never moves back


def test_a_failing_load_leaves_no_rows_and_does_not_move_the_cursor(api, monkeypatch):
    merge = Pipeline.merge_staging

    def broken(conn, family, staged):
        if family == "review":
            merge(conn, family, staged)  # the first rows are written inside the transaction...
            raise SourceError("disk full")  # ...and the load then fails
        return merge(conn, family, staged)

    monkeypatch.setattr(Pipeline, "merge_staging", staticmethod(broken))
    summary = api.run_day(D, deliver=False)
    assert [(s.source, s.message) for s in summary.failed] == [("trustpilot_api", "disk full")]
    e = api.engine
    assert cursor(e) is None
    assert scalar(e, "select count(*) from staging.stg_review") == 0
    assert raw_rows(e, "trustpilot_api") == 0
    assert cursor(e, "x_api") == datetime(2026, 3, 11, tzinfo=UTC)  # the other source committed


def test_a_pull_that_runs_out_of_budget_loads_nothing(api):
    # page 1 arrives; every later request gets 429 with Retry-After: 1 until the 3 s budget is spent
    api.trustpilot.faults = {n: ("429", "1") for n in range(2, 50)}
    summary = api.run_day(D, deliver=False)
    failed = {s.source: s.message for s in summary.failed}
    assert list(failed) == ["trustpilot_api"]
    message = failed["trustpilot_api"]
    assert "time budget of 3s exhausted" in message and "HTTP 429" in message and "nothing was loaded" in message
    e = api.engine
    assert scalar(e, "select count(*) from staging.stg_review") == 0
    assert cursor(e) is None
    assert raw_rows(e, "trustpilot_api") == 0
    assert scalar(e, "select count(*) from staging.stg_mention") == 3


def test_tokens_never_reach_logs_ops_tables_or_errors(api, monkeypatch, caplog):
    # a 500 first (logged as a retry), then a 401 whose body echoes the token (an error message)
    monkeypatch.setenv("TP_TOKEN", TP_TOKEN + "-old")
    api.trustpilot.handler = lambda r: Response(f'{{"error": "{r.headers.get("Authorization")} expired"}}',
                                                status=401)
    api.trustpilot.faults = {1: ("500",)}
    with caplog.at_level(logging.DEBUG):
        summary = api.run_day(D, deliver=False)
    assert [s.source for s in summary.failed] == ["trustpilot_api"]
    assert "HTTP 401" in summary.failed[0].message and "***" in summary.failed[0].message
    dumped = []
    with api.engine.connect() as conn:
        for schema, table in conn.execute(sa.text(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('ops', 'raw', 'staging', 'marts')")).all():
            rows = conn.execute(sa.text(f"select * from {schema}.{table}"))
            dumped += [json.dumps([str(c) for c in row]) for row in rows]
    text = "\n".join(dumped + [r.getMessage() for r in caplog.records] + [s.message for s in summary.sources])
    assert "HTTP 401" in text  # the failure is recorded, only without its secret
    for secret in (TP_TOKEN, X_TOKEN):
        assert secret not in text
    home = Path(api.settings.home)
    assert all(TP_TOKEN not in p.read_text(errors="ignore") for p in home.rglob("*") if p.is_file()
               and p.suffix in (".html", ".eml", ".txt", ".log"))


def test_rerunning_an_older_day_pulls_that_day_and_keeps_the_cursor(api):
    api.run_day(D + timedelta(days=1), deliver=False)
    assert cursor(api.engine) == datetime(2026, 3, 12, tzinfo=UTC)
    api.run_day(D, deliver=False)
    args = api.trustpilot.requests[-1].args
    # the cursor (12th) is ahead of the day: the window is the 10th less the 1-day overlap
    assert (args["startDateTime"], args["endDateTime"]) == ("2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z")
    assert cursor(api.engine) == datetime(2026, 3, 12, tzinfo=UTC)  # the older pull does not move it back

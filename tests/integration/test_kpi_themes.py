"""Themes on a real warehouse: tags, journey/touchpoint/pyramid fill and theme-segmented KPIs."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from pipelines.kpis.daily import update_kpis
from pipelines.kpis.themes import load_taxonomy
from pipelines.warehouse import star
from tests.integration.conftest import DAY
from tests.integration.test_run_day import kpi

D = date.fromisoformat(DAY)
# the items are tagged in chunks: whole, and two at a time (several chunks, one part-filled)
CHUNKS = pytest.mark.parametrize("chunk", [star.TAG_CHUNK, 2], ids=["one-chunk", "chunks-of-2"])


@CHUNKS
def test_feedback_is_tagged_and_hints_fill_journey_touchpoint_and_pyramid(tiny, chunk, monkeypatch):
    monkeypatch.setattr(star, "TAG_CHUNK", chunk)
    tiny.run_day(D)
    with tiny.engine.connect() as conn:
        tags = set(conn.execute(sa.text("select feedback_id, theme from marts.feedback_theme")).all())
        # reviews: "Brilliant\\nFast, friendly and fair." / "Fine\\nInstalled on time." / "Awful\\nCancelled twice…";
        # posts: "Love @Acme…" / "@Globex is down again" / "@Acme app keeps crashing"; the late survey
        # comment "Order never arrived, on hold for ages"; "Great service" and "Mostly good service" carry none
        assert {(f.split(":")[0], t) for f, t in tags} == {
            ("trustpilot", "speed"), ("trustpilot", "staff_attitude"), ("trustpilot", "delight"),
            ("trustpilot", "installation"), ("trustpilot", "cancellation"),
            ("x", "delight"), ("x", "network_reliability"), ("x", "app"),
            ("nps_survey", "delivery"), ("nps_survey", "support_wait"),
        }
        assert len(tags) == 10
        fill = {r.feedback_id: (r.journey_stage, r.touchpoint, r.pyramid_level) for r in conn.execute(sa.text(
            "select feedback_id, journey_stage, touchpoint, pyramid_level from marts.fct_feedback"))}
        # first theme in file order carrying each hint: speed (use, utility), then staff_attitude (store)
        assert fill["trustpilot:tp0"] == ("use", "store", "utility")
        assert fill["trustpilot:tp1"] == (None, None, None)
        assert fill["trustpilot:tp3"] == ("loyalty", "support", "usability")
        # the survey said support / web: its fields win over the delivery theme's purchase / delivery hints
        assert fill["nps_survey:R_late"] == ("support", "web", "utility")
        dims = conn.execute(sa.text("select count(*), min(taxonomy_version) from marts.dim_theme")).one()
        assert dims == (len(load_taxonomy().themes), load_taxonomy().version)

        # theme segments: tp0 is the only 5-star review naming delight; one post too
        assert kpi(conn, "avg_rating", segment_type="theme", segment_value="delight")[:2] == (5.0, 1)
        assert kpi(conn, "mention_count", segment_type="theme", segment_value="delight")[:2] == (1.0, 1)
        # pyramid: utility reviews tp0 (5) and tp2 (4) -> mean 4.5; usability tp3 (1)
        assert kpi(conn, "avg_rating", segment_type="pyramid_level", segment_value="utility")[:2] == (4.5, 2)
        assert kpi(conn, "review_count", segment_type="pyramid_level", segment_value="usability")[:2] == (1.0, 1)
        # touchpoint hints reach reviews and mentions: tp2 -> delivery, the app post -> app
        assert kpi(conn, "review_count", segment_type="touchpoint", segment_value="delivery")[:2] == (1.0, 1)
        assert kpi(conn, "mention_count", segment_type="touchpoint", segment_value="app")[:2] == (1.0, 1)
        # the late detractor (NPS 0) on D-1 names delivery: -100 over the 7-day window, absent on day 1
        assert kpi(conn, "nps", window=7, segment_type="theme", segment_value="delivery")[:2] == (-100.0, 1)
        assert kpi(conn, "nps", window=1, segment_type="theme", segment_value="delivery") is None
        # median reply time by theme: tp3 (cancellation) replied 18:00 for 13:00 -> 5 h
        assert kpi(conn, "median_reply_hours", segment_type="theme", segment_value="cancellation")[:2] == (5.0, 1)


@CHUNKS
def test_a_new_taxonomy_version_retags_every_date(tiny, tmp_path, chunk, monkeypatch):
    monkeypatch.setattr(star, "TAG_CHUNK", chunk)
    tiny.run_day(D)
    path = tmp_path / "themes.yml"
    path.write_text('version: "next"\nthemes:\n  service:\n    category: service\n    pyramid_level: usability\n'
                    '    phrases: [service]\n', encoding="utf-8")
    with tiny.engine.begin() as conn:
        update_kpis(conn, D, [], load_taxonomy(path))
    with tiny.engine.connect() as conn:
        tags = sorted(conn.execute(sa.text("select feedback_id from marts.feedback_theme")).scalars())
        # "Great service" x4 (R_00, R_01, R_02, R_08) and "Mostly good service." (tp1)
        assert tags == ["nps_survey:R_00", "nps_survey:R_01", "nps_survey:R_02", "nps_survey:R_08", "trustpilot:tp1"]
        assert conn.execute(sa.text("select theme, taxonomy_version from marts.dim_theme")).all() == [
            ("service", "next")]
        assert conn.execute(sa.text(
            "select pyramid_level from marts.fct_feedback where feedback_id = 'trustpilot:tp0'")).scalar() is None
        # four promoters, all with the comment: theme NPS 100 on D
        assert kpi(conn, "nps", segment_type="theme", segment_value="service")[:2] == (100.0, 4)

"""GX Data Docs: a browsable site of every suite and one day's validation results."""

from __future__ import annotations

import re

from pipelines.quality.docs import build_data_docs
from pipelines.validate.gx import suite_names
from tests.integration.conftest import DAY


def test_data_docs_name_every_suite_and_the_days_results(tiny):
    from datetime import date

    tiny.run_day(date.fromisoformat(DAY))
    index = build_data_docs(tiny)
    assert index == tiny.settings.home / "data_docs" / "index.html"
    html = index.read_text(encoding="utf-8")
    for name in suite_names():
        assert f"expectations/{name}.html" in html, name
    pages = {p.relative_to(index.parent).parts[1] for p in index.parent.glob("validations/*/**/*.html")}
    assert {"kpi_daily", "fct_feedback", "survey", "survey_table", "review", "mention"} <= pages
    # the NPS of 11 in the survey export fails its range check on the day's validation page
    survey = next(index.parent.glob("validations/survey/**/*.html")).read_text(encoding="utf-8")
    assert re.search(r"Failed|failed", survey)

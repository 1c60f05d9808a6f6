"""The text COPY sends PostgreSQL for timezone-aware timestamps."""

import pandas as pd

from pipelines.warehouse.db import _iso_utc


def test_aware_timestamps_become_utc_iso_text_and_nat_becomes_none():
    times = pd.Series(pd.to_datetime(["2026-03-29 00:30:00", None, "2026-03-29 02:30:15.123"], format="ISO8601"))
    times = times.dt.tz_localize("UTC").dt.tz_convert("Europe/London")
    # 02:30:15.123 UTC is 03:30:15.123 BST on the day the clocks go forward; the text is the UTC instant
    assert _iso_utc(times).tolist() == ["2026-03-29T00:30:00.000000+00:00", None,
                                        "2026-03-29T02:30:15.123000+00:00"]

"""Quality helpers without a warehouse: thresholds from sources.yml, volume bounds, item numbering,
the accounting balance."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.config import QualityConfig, load_config
from pipelines.errors import ConfigError, RunError
from pipelines.quality.accounting import Tally, check_balance
from pipelines.quality.day import missing_delivery, volume_parameters
from pipelines.quality.quarantine import number_items

BODY = "sources:\n  - {name: x, family: mention, format: x_jsonl, path: a}\nquality:\n  future_tolerance_minutes: 5\n"


def test_quality_thresholds_come_from_sources_yml(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text(BODY)
    assert load_config(path).quality == QualityConfig(future_tolerance_minutes=5.0)
    path.write_text(BODY + "  volume_floor: 3\n")
    with pytest.raises(ConfigError, match=r"sources.yml:5: quality.volume_floor: unknown key"):
        load_config(path)
    path.write_text(BODY.replace(": 5\n", ": soon\n"))
    with pytest.raises(ConfigError, match=r"sources.yml:4: quality.future_tolerance_minutes: expected a number"):
        load_config(path)


def test_volume_bounds_follow_the_trailing_median():
    cfg = QualityConfig(volume_min_history_days=3, volume_floor_rows=100, volume_drop_ratio=0.5,
                        volume_spike_ratio=3.0)
    assert volume_parameters([900, 1000], cfg)["min_rows"] == 0  # too little history: no check
    # median of 900, 1000, 5000 is 1000: warn below 500 or above 3000; no rows at all is critical
    assert volume_parameters([900, 1000, 5000], cfg) == {
        "min_rows_critical": 1, "min_rows": 500.0, "max_rows": 3000.0, "median_rows": 1000.0}
    assert volume_parameters([20, 30, 40], cfg)["min_rows_critical"] == 0  # below the floor
    assert missing_delivery([900, 1000, 5000], cfg) == (
        "no rows for the day, but the trailing median is 1,000 rows a day")
    assert missing_delivery([20, 30, 40], cfg) is None


def test_items_number_records_of_one_line_across_batches():
    first = pd.DataFrame({"_file": ["a", "a", "a"], "_line": [1, 2, 2]})
    items, carry = number_items(first, None)
    assert items.tolist() == [0, 0, 1] and carry == ("a", 2, 2)
    second = pd.DataFrame({"_file": ["a", "a", "b"], "_line": [2, 3, 2]})
    items, carry = number_items(second, carry)
    assert items.tolist() == [2, 0, 0] and carry == ("b", 2, 1)


def test_balance_check():
    check_balance("s", Tally(10, 7, 2, 1))
    with pytest.raises(RunError, match=r"s: row accounting does not balance: 10 in, but 7 loaded \+ 2 quarantined "
                                       r"\+ 0 duplicate = 9"):
        check_balance("s", Tally(10, 7, 2, 0))

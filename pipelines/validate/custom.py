"""A custom GX expectation: no value in any of several text columns matches a regex.

GX's cost per batch is mostly a fixed price per expectation, so checking seven text columns for
control characters with seven `expect_column_values_to_not_match_regex` costs seven times that
price. This one expectation reads them all in one pass and still routes rows by
`unexpected_index_list`. Importing this module registers it with GX (as
`expect_multicolumn_values_to_not_match_regex`).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import MulticolumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import MulticolumnMapMetricProvider
from great_expectations.expectations.metrics.map_metric_provider.multicolumn_condition_partial import (
    multicolumn_condition_partial,
)


class MulticolumnValuesNotMatchRegex(MulticolumnMapMetricProvider):
    """Per row: true when none of the listed columns matches `regex` (missing values never match)."""

    condition_metric_name = "multicolumn_values.not_match_regex"
    condition_domain_keys = ("batch_id", "table", "column_list", "row_condition", "condition_parser", "ignore_row_if")
    condition_value_keys = ("regex",)

    @multicolumn_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column_list: pd.DataFrame, regex: str, **kwargs: object) -> pd.Series:
        hit = np.zeros(len(column_list), dtype=bool)
        for name in column_list.columns:
            hit |= column_list[name].astype("string").str.contains(regex, regex=True, na=False).to_numpy(dtype=bool)
        return pd.Series(~hit, index=column_list.index)


class ExpectMulticolumnValuesToNotMatchRegex(MulticolumnMapExpectation):
    """Expect no value in any of `column_list` to match `regex`."""

    regex: str
    map_metric = "multicolumn_values.not_match_regex"
    success_keys: ClassVar[tuple[str, ...]] = ("regex", "mostly")
    args_keys = ("column_list", "regex")

"""The validation stage: GX suites route bad rows to quarantine with reasons; warnings only count."""

from __future__ import annotations

import json
import sys
from typing import Any

import pandas as pd
import pytest

from pipelines.config import EXPECTATIONS_DIR
from pipelines.errors import SourceError
from pipelines.sources.base import ID_COLUMN, conform
from pipelines.validate import Validation, validate_batch
from pipelines.validate.gx import load_suite, run_suite

DAY_END = pd.Timestamp("2024-05-02T00:00:00Z")

CLEAN: dict[str, dict[str, Any]] = {
    "review": {"created_at": "2024-05-01T09:30:00Z", "rating": 4, "body": "Lovely", "language": "en"},
    "mention": {"created_at": "2024-05-01T09:30:00Z", "text": "@acme thanks!", "language": "en-GB"},
    "survey": {"submitted_at": "2024-05-01T09:30:00Z", "nps": 9, "csat": 5, "ces": 2, "comment": "ok"},
}


def batch(family: str, n: int = 4, **changes: dict[str, Any]) -> pd.DataFrame:
    """A canonical batch of `n` clean rows; `changes` maps a line number ("l3") to new values."""
    rows = []
    for line in range(1, n + 1):
        row = {ID_COLUMN[family]: f"{family[0]}{line}", **CLEAN[family], **changes.get(f"l{line}", {})}
        rows.append({**row, "_file": f"{family}.jsonl", "_line": line, "_raw": json.dumps(row)})
    return conform(pd.DataFrame(rows), family)


def run(df: pd.DataFrame, family: str, **kwargs: Any) -> Validation:
    return validate_batch(df, family, "test_source", DAY_END, **kwargs)


def lines(frame: pd.DataFrame) -> list[int]:
    return frame["_line"].tolist()


def result(v: Validation, expectation: str, column: str, severity: str = "warning") -> dict[str, Any]:
    (found,) = [r for r in v.results
                if (r["expectation"], r["column"], r["severity"]) == (expectation, column, severity)]
    return found


@pytest.mark.parametrize("family", ["review", "mention", "survey"])
def test_clean_batch_passes_wholly(family: str) -> None:
    df = batch(family)
    v = run(df, family)
    pd.testing.assert_frame_equal(v.good, df)
    assert v.quarantined.empty
    assert list(v.quarantined.columns) == ["_file", "_line", "_raw", "reason", "expectation", "column"]
    assert all(r["success"] for r in v.results)
    assert {r["suite"] for r in v.results} == {family}


@pytest.mark.parametrize(
    ("family", "change", "reason"),
    [
        ("review", {"_parse_error": "invalid JSON"}, "_parse_error: expect_column_values_to_be_null"),
        ("review", {"review_id": None}, "review_id: expect_column_values_to_not_be_null"),
        ("review", {"created_at": None}, "created_at: expect_column_values_to_not_be_null"),
        ("review", {"created_at": "yesterday-ish"}, "created_at: expect_column_values_to_not_be_null"),
        ("review", {"rating": 6}, "rating: expect_column_values_to_be_between [1, 5]"),
        ("review", {"rating": 0}, "rating: expect_column_values_to_be_between [1, 5]"),
        ("mention", {"mention_id": None}, "mention_id: expect_column_values_to_not_be_null"),
        ("mention", {"text": None}, "text: expect_column_values_to_not_be_null"),
        ("survey", {"submitted_at": None}, "submitted_at: expect_column_values_to_not_be_null"),
        ("survey", {"nps": 11}, "nps: expect_column_values_to_be_between [0, 10]"),
        ("survey", {"nps": -1}, "nps: expect_column_values_to_be_between [0, 10]"),
        ("survey", {"csat": 0}, "csat: expect_column_values_to_be_between [1, 5]"),
        ("survey", {"ces": 8}, "ces: expect_column_values_to_be_between [1, 7]"),
    ],
)
def test_each_critical_failure_routes_exactly_its_row(family: str, change: dict, reason: str) -> None:
    v = run(batch(family, l3=change), family)
    assert lines(v.quarantined) == [3]
    assert v.quarantined["reason"].tolist() == [reason]
    assert v.quarantined["_file"].tolist() == [f"{family}.jsonl"]
    assert json.loads(v.quarantined["_raw"].iloc[0])[next(iter(change))] == next(iter(change.values()))
    assert lines(v.good) == [1, 2, 4]


def test_row_failing_two_expectations_appears_once_with_both_reasons() -> None:
    v = run(batch("review", l2={"_parse_error": "bad row", "rating": 9}), "review")
    assert lines(v.quarantined) == [2]
    assert v.quarantined["reason"].iloc[0] == (
        "_parse_error: expect_column_values_to_be_null; rating: expect_column_values_to_be_between [1, 5]"
    )


def test_future_timestamp_beyond_tolerance_is_quarantined_within_is_not() -> None:
    df = batch(
        "mention",
        l1={"created_at": "2024-05-02T00:59:59Z"},
        l2={"created_at": "2024-05-02T01:00:00Z"},
        l3={"created_at": "2024-05-02T01:00:01Z"},
        l4={"created_at": "2024-05-09T12:00:00Z"},
    )
    v = run(df, "mention")
    assert lines(v.good) == [1, 2]
    assert lines(v.quarantined) == [3, 4]
    assert set(v.quarantined["reason"]) == {
        "created_at: expect_column_values_to_be_between [None, 2024-05-02T01:00:00+00:00]"
    }
    assert lines(run(df, "mention", tolerance=pd.Timedelta(0)).good) == []


def test_time_bound_follows_each_call_not_the_first() -> None:
    df = batch("survey", l1={"submitted_at": "2024-05-02T12:00:00Z"})
    assert lines(run(df, "survey").quarantined) == [1]
    later = validate_batch(df, "survey", "test_source", DAY_END + pd.Timedelta(days=1))
    assert later.quarantined.empty


def test_duplicate_ids_are_a_warning_not_quarantined() -> None:
    v = run(batch("review", l3={"review_id": "r1"}), "review")
    assert v.quarantined.empty
    assert lines(v.good) == [1, 2, 3, 4]
    assert result(v, "expect_column_values_to_be_unique", "review_id") == {
        "suite": "review",
        "expectation": "expect_column_values_to_be_unique",
        "column": "review_id",
        "severity": "warning",
        "success": False,
        "unexpected_count": 2,
        "element_count": 4,
    }


def test_warnings_are_recorded_but_never_quarantine() -> None:
    v = run(batch("review", l1={"language": "English"}, l2={"body": "x" * 20_001, "title": "@SUM(A1)"}), "review")
    assert v.quarantined.empty
    assert result(v, "expect_column_values_to_match_regex", "language")["unexpected_count"] == 1
    assert result(v, "expect_multicolumn_values_to_not_match_regex", "title,body")["unexpected_count"] == 1

    scoreless = {"nps": None, "csat": None, "ces": None}
    v = run(batch("survey", l2=scoreless, l4={**scoreless, "csat": 3}), "survey")
    assert v.quarantined.empty
    no_score = result(v, "expect_column_values_to_not_be_null", "nps")
    assert (no_score["severity"], no_score["success"], no_score["unexpected_count"]) == ("warning", False, 1)


def test_null_scores_and_languages_are_allowed() -> None:
    v = run(batch("review", l1={"rating": None, "language": None}), "review")
    assert v.quarantined.empty


def test_results_have_one_entry_per_expectation_in_suite_order() -> None:
    suite = json.loads((EXPECTATIONS_DIR / "review.json").read_text())
    v = run(batch("review"), "review")
    assert [(r["expectation"], r["severity"]) for r in v.results] == [
        (e["type"], e["meta"]["severity"]) for e in suite["expectations"]
    ]
    kwargs = [e["kwargs"] for e in suite["expectations"]]
    assert [r["column"] for r in v.results] == [
        k.get("column") or ",".join(k.get("column_list") or [k["column_A"], k["column_B"]]) for k in kwargs
    ]


def test_missing_required_column_raises_naming_source_and_column() -> None:
    with pytest.raises(SourceError, match=r"test_source.*rating"):
        run(batch("review").drop(columns=["rating"]), "review")


def test_routing_uses_positions_whatever_the_index() -> None:
    df = batch("review", l2={"rating": 7})
    df.index = [40, 30, 20, 10]
    v = run(df, "review")
    assert lines(v.quarantined) == [2]
    assert lines(v.good) == [1, 3, 4]


def test_every_row_lands_in_exactly_one_output() -> None:
    df = batch(
        "survey",
        n=10,
        l2={"nps": 12},
        l3={"response_id": None, "ces": 0},
        l5={"submitted_at": "2025-01-01T00:00:00Z"},
        l7={"response_id": "s1"},
        l9={"_parse_error": "truncated line"},
    )
    v = run(df, "survey")
    assert len(v.good) + len(v.quarantined) == len(df)
    assert sorted(lines(v.good) + lines(v.quarantined)) == list(range(1, 11))
    assert lines(v.quarantined) == [2, 3, 5, 9]
    assert list(v.good.columns) == list(df.columns)


def test_all_rows_bad_is_not_an_error_here() -> None:
    v = run(batch("review", n=2, l1={"rating": 0}, l2={"rating": 0}), "review")
    assert v.good.empty
    assert lines(v.quarantined) == [1, 2]


def test_empty_batch() -> None:
    v = run(batch("review", n=0), "review")
    assert v.good.empty and v.quarantined.empty
    assert all(r["success"] and r["element_count"] == 0 for r in v.results)


@pytest.mark.parametrize(
    ("family", "change", "reason"),
    [
        ("survey", {"comment": "bell\x07"}, "comment: expect_multicolumn_values_to_not_match_regex"),
        ("review", {"body": "nul\x00 here", "title": "esc\x1b[31m"},
         "title,body: expect_multicolumn_values_to_not_match_regex"),
        ("mention", {"mention_id": "17\x00"}, "mention_id: expect_multicolumn_values_to_not_match_regex"),
        ("mention", {"text": "x" * 100_001}, "text: expect_column_value_lengths_to_be_between [None, 100000]"),
    ],
)
def test_control_characters_and_huge_text_are_quarantined_naming_the_column(family, change, reason) -> None:
    v = run(batch(family, l2=change), family)
    assert lines(v.quarantined) == [2]
    assert v.quarantined["reason"].tolist() == [reason]
    assert v.quarantined["column"].tolist() == [reason.split(":")[0]]


def test_tabs_and_line_breaks_are_not_control_characters_here() -> None:
    v = run(batch("survey", l1={"comment": "line one\r\n\tline two"}), "survey")
    assert v.quarantined.empty


def test_formula_text_and_edits_before_creation_are_warnings() -> None:
    v = run(batch("review", l1={"body": "=cmd|' /C calc'!A0"}, l2={"body": "-1 would not recommend"},
                  l3={"updated_at": "2024-05-01T08:00:00Z"}), "review")
    assert v.quarantined.empty
    formula = result(v, "expect_multicolumn_values_to_not_match_regex", "title,body")
    assert (formula["success"], formula["unexpected_count"]) == (False, 1)  # "-1 would ..." is not a formula
    pair = result(v, "expect_column_pair_values_a_to_be_greater_than_b", "updated_at,created_at")
    assert (pair["success"], pair["unexpected_count"]) == (False, 1)


def test_formula_text_may_follow_exactly_the_whitespace_python_knows() -> None:
    """The formula rule spells out Python's `\\s` so that pyarrow runs it: every character Python
    calls whitespace, and no other, may come before the formula, through pandas as GX runs it."""
    rules = {e["kwargs"]["regex"] for family in ("review", "mention", "survey")
             for e in json.loads((EXPECTATIONS_DIR / f"{family}.json").read_text())["expectations"]
             if e["kwargs"].get("regex", "").endswith("[(|!]")}
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = pd.Series([f"{c}{c}=SUM(" for c in chars], dtype="string")
    assert len(rules) == 1
    flagged = texts.str.contains(rules.pop()).to_numpy(dtype=bool)
    assert [c for c, hit in zip(chars, flagged, strict=True) if hit != c.isspace()] == []


def test_formula_after_unicode_whitespace_is_a_warning() -> None:
    v = run(batch("mention", l1={"text": "\u3000\t=HYPERLINK(x)"}, l2={"text": "\u200b=HYPERLINK(x)"}), "mention")
    assert v.quarantined.empty
    assert result(v, "expect_column_values_to_not_match_regex", "text")["unexpected_count"] == 1  # U+200B is no space


def test_survey_channel_outside_the_known_set_is_a_warning() -> None:
    v = run(batch("survey", l1={"channel": "carrier pigeon"}, l2={"channel": "email"}), "survey")
    assert v.quarantined.empty
    assert result(v, "expect_column_values_to_be_in_set", "channel")["unexpected_count"] == 1


def test_each_batch_is_fingerprinted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """GX hashes the whole frame per batch it builds; validating must build one batch, not two."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashes: list[int] = []
    original = engine.hash_pandas_dataframe
    monkeypatch.setattr(engine, "hash_pandas_dataframe", lambda df: hashes.append(len(df)) or original(df))
    run(batch("review", l2={"rating": 7}), "review")
    assert hashes == [4]


def test_only_failed_critical_checks_report_their_rows() -> None:
    """GX lists failing rows only where quarantine needs them; warnings keep their verdicts and counts."""
    df = batch("review", l2={"rating": 7, "language": "English"}, l3={"review_id": "r1"})
    outcomes = {(o.check.type, o.check.column): (o.success, o.unexpected_count, o.element_count, o.unexpected_index)
                for o in run_suite(load_suite("review"), df, {"max_time": DAY_END})}
    assert outcomes.pop(("expect_column_values_to_be_between", "rating")) == (False, 1, 4, [1])
    assert outcomes.pop(("expect_column_values_to_match_regex", "language")) == (False, 1, 4, [])
    assert outcomes.pop(("expect_column_values_to_be_unique", "review_id")) == (False, 2, 4, [])
    assert all(success and not rows for success, _, _, rows in outcomes.values())


def test_gx_kwarg_lookups_are_replaced_and_answer_as_gx_does() -> None:
    """Every expectation of every suite gets the same kwargs from the cheaper lookups as from GX's."""
    from pipelines.validate import gx_speed
    from pipelines.validate.gx import suite_names

    assert gx_speed.apply(), "the pinned GX version should get the cheaper lookups"
    runtimes = [None, {"result_format": "BASIC"},
                {"result_format": {"result_format": "COMPLETE"}, "catch_exceptions": False}]
    compared = 0
    for name in suite_names():
        for expectation in load_suite(name).expectations.expectations:
            stock, fast = gx_speed.STOCK, gx_speed.REPLACEMENTS
            for method in ("_get_domain_kwargs", "_get_success_kwargs"):
                assert fast[method](expectation) == stock[method](expectation), (name, method)
            for runtime in runtimes:
                assert (fast["_get_runtime_kwargs"](expectation, runtime)
                        == stock["_get_runtime_kwargs"](expectation, runtime)), (name, runtime)
            keys = {*expectation.runtime_keys, *expectation.success_keys, *expectation.domain_keys}
            for key in keys:
                assert (fast["_get_success_kwarg"](expectation, key, "dflt")
                        == stock["_get_success_kwarg"](expectation, key, "dflt")), (name, key)
            compared += 1
    assert compared == sum(len(load_suite(n).checks) for n in suite_names()) > 30


def test_gx_metric_ids_are_taken_directly_from_plain_kwargs_and_equal_gx_own(monkeypatch) -> None:
    """The cheaper `IDDict.to_id` names every metric of a validation as GX's own does, and takes
    most names without GX's converter (a batch of each family, with a critical failure: the
    quarantine's second pass asks for more metrics). Kwargs GX's converter would change (NaN, a
    numpy number, a dict subclass, a key that is not a string) go to GX's."""
    import numpy as np
    from great_expectations.core.id_dict import IDDict

    from pipelines.validate import gx_speed

    run(batch("review"), "review")  # GX's context is built, and gx_speed applied, on the first validation
    assert gx_speed.apply(), "the pinned GX version should get the cheaper ids"
    stock, counted = gx_speed.STOCK["to_id"], {"hashed": 0, "hashed_by_gx": 0}

    def hashed(found: Any) -> bool:  # GX hashes the kwargs of an id with several (one reads `key=value`)
        return isinstance(found, str) and len(found) == 32 and "=" not in found

    def handed_on(*args: Any) -> Any:
        found = stock(*args)
        counted["hashed_by_gx"] += hashed(found)
        return found

    def compare(self: IDDict, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        got = gx_speed._to_id(self, id_keys, id_ignore_keys)
        assert got == stock(self, id_keys, id_ignore_keys), dict(self)
        counted["hashed"] += hashed(got)
        return got

    monkeypatch.setitem(gx_speed.STOCK, "to_id", handed_on)
    monkeypatch.setattr(IDDict, "to_id", compare)
    for family, change in (("review", {"rating": 9}), ("mention", {"text": None}), ("survey", {"nps": 11})):
        assert lines(run(batch(family, l2=change), family).quarantined) == [2]
    # the kwargs GX's converter must see are rare: a time bound is a Timestamp
    assert counted["hashed"] > 100 and counted["hashed_by_gx"] < 0.1 * counted["hashed"], counted
    odd = [{"a": float("nan"), "b": 1}, {"a": np.int64(3), "b": 1}, {"a": IDDict(x=1), "b": 1},
           {"a": {None: "x", 2: "y"}, "b": 1}, {"a": {"c", "d"}, "b": 1}, {"a": (1, [2.5, None]), "b": "s"}]
    for kwargs in odd:
        assert compare(IDDict(kwargs)) == stock(IDDict(kwargs))
    assert [gx_speed._plain(kwargs) for kwargs in odd] == [True, False, False, False, False, True]

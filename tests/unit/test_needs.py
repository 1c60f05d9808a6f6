"""tests/needs.py: a missing service or package skips a test on a laptop, and fails it under CI=true."""

from __future__ import annotations

import pytest

from tests.needs import require, require_module


@pytest.mark.parametrize(("ci", "outcome"), [(None, pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_a_missing_need_skips_outside_ci_and_fails_under_it(monkeypatch, ci, outcome):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="Redis is not reachable"):
        require(False, "Redis is not reachable")
    with pytest.raises(outcome, match="the extra is not installed: No module named 'cx_no_such_module'"):
        require_module("cx_no_such_module", "the extra is not installed")


def test_what_is_there_is_handed_over(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
    assert require_module("json", "never shown").dumps([1]) == "[1]"

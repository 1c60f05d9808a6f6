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
    # both outcomes caught, so that the wrong one fails this test instead of skipping it
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception), match="Redis is not reachable") as missing:
        require(False, "Redis is not reachable")
    assert missing.type is outcome
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception),
                       match="the extra is not installed: No module named 'cx_no_such_module'") as missing:
        require_module("cx_no_such_module", "the extra is not installed")
    assert missing.type is outcome


def test_what_is_there_is_handed_over(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
    assert require_module("json", "never shown").dumps([1]) == "[1]"

"""tests/needs.py: a missing service or package skips a test on a laptop, and fails it under CI=true."""

from __future__ import annotations

import pytest

from tests.needs import require, require_module


def test_a_missing_need_skips_with_its_reason_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        require(False, "Redis is not reachable")
    with pytest.raises(pytest.skip.Exception, match="the extra is not installed: No module named 'cx_no_such_module'"):
        require_module("cx_no_such_module", "the extra is not installed")


def test_a_missing_need_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Redis is not reachable"):
        require(False, "Redis is not reachable")
    with pytest.raises(pytest.fail.Exception, match="cx_no_such_module"):
        require_module("cx_no_such_module", "the extra is not installed")


def test_what_is_there_is_handed_over(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
    assert require_module("json", "never shown").dumps([1]) == "[1]"

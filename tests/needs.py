"""What a test needs from the machine. Where it is missing the test skips, with the reason printed;
under CI=true, where `make test` has installed everything and the services run, it fails instead."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(condition: bool, reason: str) -> None:
    """Skip (a test, or at import time its whole module) unless `condition`; fail under CI=true."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason, allow_module_level=True)


def require_module(name: str, reason: str) -> ModuleType:
    """Import `name`; skip without it, or fail under CI=true."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        require(False, f"{reason}: {exc}")
        raise  # not reached: require skipped or failed

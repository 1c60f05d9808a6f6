"""Exceptions the CLI and the DAG turn into clear messages instead of tracebacks."""

from __future__ import annotations


class CxError(Exception):
    """Base for every error the pipeline raises on purpose."""


class ConfigError(CxError):
    """Bad configuration or usage: names the file, line or key at fault (CLI exit code 2)."""


class SourceError(CxError):
    """One source cannot be read or loaded; the other sources still run."""


class RunError(CxError):
    """The run failed; nothing partial was committed (CLI exit code 1)."""

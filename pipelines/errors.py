"""Exceptions the CLI and the DAG turn into clear messages instead of tracebacks."""

from __future__ import annotations


class CxError(Exception):
    """Base for every error the pipeline raises on purpose."""


class ConfigError(CxError):
    """Bad configuration or usage: names the file, line or key at fault (CLI exit code 2)."""


class SourceError(CxError):
    """One source cannot be read or loaded; the other sources still run."""

    @classmethod
    def unreadable(cls, path: object, exc: OSError) -> SourceError:
        """A file gone since it was listed, or unreadable, wherever that is found: its source fails, naming it."""
        return cls(f"{path}: cannot read file: {exc.strerror or exc}")


class RunError(CxError):
    """The run failed; nothing partial was committed (CLI exit code 1)."""

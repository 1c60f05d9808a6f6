"""Sample data: realistic landing files for the built-in formats (`cx sample-data`)."""

from __future__ import annotations

from pipelines.sample.generate import generate

__all__ = ["generate"]

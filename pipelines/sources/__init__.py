"""Connectors: one module per export format, each exposing `read` (see `base.py`)."""

from __future__ import annotations

from importlib import import_module

from pipelines.sources.base import Parser

# format name -> module under pipelines.sources; imported only when a source uses it.
FORMATS: dict[str, str] = {
    "qualtrics_csv": "qualtrics_csv",
    "trustpilot_json": "trustpilot_json",
    "x_jsonl": "x_jsonl",
}


def get_parser(fmt: str) -> Parser:
    """The `read` function of a built-in format."""
    return import_module(f"pipelines.sources.{FORMATS[fmt]}").read

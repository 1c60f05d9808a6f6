"""The versioned theme taxonomy (config/themes.yml) and multi-label tagging of feedback text.

Each theme compiles to one case-insensitive alternation (its phrases as whole words, then its
patterns) evaluated by Arrow's RE2 kernel over the whole column at once, so tagging costs one
vectorised pass per theme rather than a Python loop per text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.config import NAME_RE, PROJECT_ROOT, read_yaml

DEFAULT_TAXONOMY = PROJECT_ROOT / "config" / "themes.yml"
PYRAMID_LEVELS = ("utility", "usability", "pleasure")
JOURNEY_STAGES = ("awareness", "consideration", "purchase", "use", "support", "loyalty")
THEME_KEYS = {"category", "pyramid_level", "journey_stage", "touchpoint", "phrases", "patterns"}


@dataclass(frozen=True)
class Theme:
    """One theme: where it sits (category, CX pyramid) and where it hints an item belongs."""

    name: str
    category: str
    pyramid_level: str | None
    journey_stage: str | None
    touchpoint: str | None
    pattern: str  # one RE2 alternation of every phrase and pattern


@dataclass(frozen=True)
class Taxonomy:
    """The themes in file order (the order breaks ties when hints disagree) and their version."""

    version: str
    themes: tuple[Theme, ...]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.themes]

    def matches(self, texts: pd.Series | list[str]) -> pd.DataFrame:
        """A boolean frame, one column per theme in file order, True where the text mentions it."""
        index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
        values = pa.array(pd.Series(texts, dtype="str"))  # Arrow-backed strings: no copy
        return pd.DataFrame(
            {t.name: pc.fill_null(pc.match_substring_regex(values, t.pattern, ignore_case=True), False)
             .to_numpy(zero_copy_only=False) for t in self.themes},
            index=index,
        )

    def dimension(self) -> pd.DataFrame:
        """The rows of `marts.dim_theme`."""
        return pd.DataFrame({
            "theme": self.names,
            "category": [t.category for t in self.themes],
            "pyramid_level": [t.pyramid_level for t in self.themes],
            "journey_stage": [t.journey_stage for t in self.themes],
            "taxonomy_version": self.version,
        })


def tag(taxonomy: Taxonomy, feedback: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Theme tags and hints for feedback rows (`feedback_id`, `feedback_date`, `text`).

    Returns the `marts.feedback_theme` rows and, per tagged item, the journey stage, touchpoint
    and pyramid level of the first theme (in file order) that carries each hint.
    """
    hits = taxonomy.matches(feedback["text"].reset_index(drop=True))
    rows, themes = np.nonzero(hits.to_numpy())
    names = np.array(taxonomy.names, dtype=object)
    tags = pd.DataFrame({
        "feedback_id": feedback["feedback_id"].to_numpy(object)[rows],
        "theme": names[themes],
        "feedback_date": feedback["feedback_date"].to_numpy(object)[rows],
    })
    hints = pd.DataFrame({"feedback_id": feedback["feedback_id"].to_numpy(object)})
    for attr in ("journey_stage", "touchpoint", "pyramid_level"):
        carries = np.array([getattr(t, attr) is not None for t in taxonomy.themes], dtype=bool)
        usable = hits.to_numpy() & carries
        first = usable.argmax(axis=1)
        values = np.array([getattr(t, attr) for t in taxonomy.themes], dtype=object)
        hints[attr] = np.where(usable.any(axis=1), values[first] if len(values) else None, None)
    hints = hints[hints[["journey_stage", "touchpoint", "pyramid_level"]].notna().any(axis=1)]
    return tags, hints.reset_index(drop=True)


def phrase_pattern(phrases: list[str]) -> str:
    """Whole-word alternation of literal phrases (whitespace inside a phrase matches any run of it)."""
    escaped = [r"\s+".join(re.escape(w) for w in p.split()) for p in phrases]
    return r"\b(?:" + "|".join(escaped) + r")\b"


def load_taxonomy(path: str | Path = DEFAULT_TAXONOMY) -> Taxonomy:
    """Parse and check themes.yml; every problem names the file, the line and the key."""
    doc = read_yaml(path, hint="the theme taxonomy ships in config/themes.yml")
    data, fail = doc.data, doc.error
    if not isinstance(data, dict):
        raise fail((), "expected a mapping with 'version' and 'themes'")
    if not data.get("version"):
        raise fail(("version",), "missing required key 'version'")
    raw = data.get("themes")
    if not isinstance(raw, dict) or not raw:
        raise fail(("themes",), "expected a non-empty mapping of theme: definition")
    themes = []
    for name, entry in raw.items():
        here = ("themes", name)
        if not NAME_RE.match(str(name)):
            raise fail(here, f"theme name {name!r} must match [a-z][a-z0-9_]*")
        if not isinstance(entry, dict):
            raise fail(here, "expected a mapping")
        unknown = sorted(set(entry) - THEME_KEYS)
        if unknown:
            raise fail((*here, unknown[0]), f"unknown key {unknown[0]!r}; expected {', '.join(sorted(THEME_KEYS))}")
        if not entry.get("category"):
            raise fail(here, "missing required key 'category'")
        level, stage = entry.get("pyramid_level"), entry.get("journey_stage")
        if level is not None and level not in PYRAMID_LEVELS:
            raise fail((*here, "pyramid_level"), f"{level!r} is not one of {', '.join(PYRAMID_LEVELS)}")
        if stage is not None and stage not in JOURNEY_STAGES:
            raise fail((*here, "journey_stage"), f"{stage!r} is not one of {', '.join(JOURNEY_STAGES)}")
        touchpoint = entry.get("touchpoint")
        if touchpoint is not None and not NAME_RE.match(str(touchpoint)):
            raise fail((*here, "touchpoint"), f"{touchpoint!r} must match [a-z][a-z0-9_]*")
        parts = []
        for key in ("phrases", "patterns"):
            items = entry.get(key) or []
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise fail((*here, key), "expected a list of non-empty strings")
            if key == "phrases" and items:
                parts.append(phrase_pattern(items))
            for i, pattern in enumerate(items if key == "patterns" else []):
                try:
                    pc.match_substring_regex(pa.array([""]), pattern)
                except pa.ArrowInvalid as exc:
                    raise fail((*here, key, i), f"bad regular expression {pattern!r}: {exc}") from None
                parts.append(f"(?:{pattern})")
        if not parts:
            raise fail(here, "needs at least one of 'phrases' or 'patterns'")
        themes.append(Theme(str(name), str(entry["category"]), level, stage,
                            None if touchpoint is None else str(touchpoint), "|".join(parts)))
    return Taxonomy(str(data["version"]), tuple(themes))


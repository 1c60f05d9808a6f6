"""The versioned theme taxonomy (config/themes.yml) and multi-label tagging of feedback text.

Each theme compiles to one case-insensitive alternation (its phrases as whole words, then its
patterns) evaluated by Arrow's RE2 kernel over the whole column at once, so tagging costs one
vectorised pass per theme rather than a Python loop per text; the passes run on every core (the
kernel releases the GIL) and each distinct text is tagged once. `ThemeCache` keeps a text's tags
in the warehouse (`ops.theme_cache`, by text hash like the sentiment cache), so re-tagging the
same feedback — a rerun, a backfill — is a lookup.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from pipelines.config import NAME_RE, PROJECT_ROOT, read_yaml
from pipelines.enrich.text_cache import TextCache

DEFAULT_TAXONOMY = PROJECT_ROOT / "config" / "themes.yml"
PYRAMID_LEVELS = ("utility", "usability", "pleasure")
JOURNEY_STAGES = ("awareness", "consideration", "purchase", "use", "support", "loyalty")
THEME_KEYS = {"category", "pyramid_level", "journey_stage", "touchpoint", "phrases", "patterns"}
MAX_THEMES = 63  # the tag cache keeps a text's themes as one bit each of a 64-bit integer


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

    @property
    def key(self) -> str:
        """What a text's tags depend on (names and patterns, in order): the tag cache's key.

        Not `version`, which is bumped by hand: an edit that forgets to bump it re-keys too.
        """
        return hashlib.sha256("\0".join(f"{t.name}\0{t.pattern}" for t in self.themes).encode()).hexdigest()[:16]

    def matches(self, texts: pd.Series | list[str]) -> pd.DataFrame:
        """A boolean frame, one column per theme in file order, True where the text mentions it."""
        index = texts.index if isinstance(texts, pd.Series) else pd.RangeIndex(len(texts))
        values = pa.array(pd.Series(texts, dtype="str"))  # Arrow-backed strings: no copy
        return pd.DataFrame(self.hits(values), index=index, columns=self.names)

    def hits(self, texts: pa.Array) -> np.ndarray:
        """Texts × themes booleans; null text mentions nothing. The themes' passes run in threads."""
        def one(theme: Theme) -> np.ndarray:
            found = pc.match_substring_regex(texts, theme.pattern, ignore_case=True)
            return pc.fill_null(found, False).to_numpy(zero_copy_only=False)

        out = np.zeros((len(texts), len(self.themes)), dtype=bool)
        for i, column in enumerate(_threads().map(one, self.themes)):
            out[:, i] = column
        return out

    def dimension(self) -> pd.DataFrame:
        """The rows of `marts.dim_theme`."""
        return pd.DataFrame({
            "theme": self.names,
            "category": [t.category for t in self.themes],
            "pyramid_level": [t.pyramid_level for t in self.themes],
            "journey_stage": [t.journey_stage for t in self.themes],
            "taxonomy_version": self.version,
        })


@cache
def _threads() -> ThreadPoolExecutor:
    """A thread per core for Arrow's kernels, which release the GIL while they run (tagging)."""
    return ThreadPoolExecutor(max_workers=os.cpu_count())


def hits_distinct(taxonomy: Taxonomy, texts: pa.Array) -> np.ndarray:
    """`taxonomy.hits(texts)`, each distinct text tagged once."""
    encoded = pc.dictionary_encode(texts)
    return taxonomy.hits(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)]


class ThemeCache:
    """Tags texts through `ops.theme_cache`: look all up in one query, tag and store only the new ones."""

    def __init__(self, conn: sa.Connection, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self.cache = TextCache(conn, "ops.theme_cache", "themes", {"taxonomy": taxonomy.key})
        self.bits = np.int64(1) << np.arange(len(taxonomy.themes), dtype=np.int64)  # theme i is bit i

    def __call__(self, texts: pa.Array) -> np.ndarray:
        """Texts × themes booleans, as `Taxonomy.hits` gives them."""
        masks = self.cache.get(texts, lambda new: hits_distinct(self.taxonomy, new).astype(np.int64) @ self.bits,
                               np.int64)
        return (masks[:, None] & self.bits) != 0


def tag(
    taxonomy: Taxonomy, feedback: pd.DataFrame, lookup: Callable[[pa.Array], np.ndarray] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Theme tags and hints for feedback rows (`feedback_id`, `feedback_date`, `text`).

    Returns the `marts.feedback_theme` rows and, per tagged item, the journey stage, touchpoint
    and pyramid level of the first theme (in file order) that carries each hint. `lookup` replaces
    `hits_distinct` for the texts that are present (the warehouse cache passes itself here).
    """
    column = pa.array(feedback["text"].astype("str"), pa.large_string(), from_pandas=True)
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    present = values.is_valid()
    hits = np.zeros((len(values), len(taxonomy.themes)), dtype=bool)
    if pc.any(present).as_py():
        kept = values.filter(present)
        hits[present.to_numpy(zero_copy_only=False)] = (lookup or partial(hits_distinct, taxonomy))(kept)
    rows, themes = np.nonzero(hits)
    ids = feedback["feedback_id"].astype("str").reset_index(drop=True)  # Arrow-backed: picked without copies
    tags = pd.DataFrame({
        "feedback_id": ids.iloc[rows].reset_index(drop=True),
        "theme": pd.Series(taxonomy.names, dtype="str").iloc[themes].reset_index(drop=True),
        "feedback_date": feedback["feedback_date"].to_numpy(object)[rows],
    })
    bits = np.packbits(hits, axis=1, bitorder="little")  # row masks: theme i is bit i (≤ MAX_THEMES)
    masks = np.pad(bits, ((0, 0), (0, 8 - bits.shape[1]))).view("<u8")[:, 0]
    tagged = np.flatnonzero(masks)
    masks = masks[tagged]
    hinted = np.zeros(len(tagged), dtype=bool)
    firsts = {}
    for attr in ("journey_stage", "touchpoint", "pyramid_level"):
        values_of = np.array([*(getattr(t, attr) for t in taxonomy.themes), None], dtype=object)
        usable = masks & np.uint64(sum(1 << i for i, value in enumerate(values_of[:-1]) if value is not None))
        has = usable != 0
        first = np.full(len(masks), len(taxonomy.themes))  # no theme carries it: the None at the end
        first[has] = np.log2(usable[has] & (~usable[has] + np.uint64(1)))  # lowest bit: first theme in file order
        hinted |= has
        firsts[attr] = values_of[first]
    hints = pd.DataFrame({  # object columns: few distinct values, no per-row string conversion
        "feedback_id": ids.iloc[tagged[hinted]].reset_index(drop=True),
        **{attr: pd.Series(values[hinted], dtype=object) for attr, values in firsts.items()},
    })
    return tags, hints


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
    if len(raw) > MAX_THEMES:
        raise fail(("themes",), f"{len(raw)} themes; at most {MAX_THEMES} are supported")
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


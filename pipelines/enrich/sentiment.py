"""Sentiment models behind one small protocol, chosen by name (`sentiment.model` / CX_SENTIMENT_MODEL).

- `vader`: VADER alone, general English.
- `cx_vader` (default): VADER plus the customer-service layer in `config/`: a domain lexicon
  (`cx_lexicon.tsv`: words and phrases such as "cancelled", "never arrived") and rules
  (`cx_rules.tsv`: patterns such as "on hold for 40 minutes", "called three times", "was supposed
  to"). A phrase or rule match becomes one marker token that carries its valence, so VADER's own
  negation, booster and "but" handling apply to it like to any word. A plain enquiry — one
  question such as "Can I change my delivery address?" with no complaint marker in it — scores 0:
  customers ask how to cancel or claim without being unhappy, and VADER reads "cancel" or
  "damage" as negative.

Scores are VADER compound values in [-1, 1]. A model's `version` changes whenever its lexicon,
rules or code change, which is what invalidates the warehouse cache (`sentiment_cache.py`).
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from pipelines.config import DEFAULT_SENTIMENT_MODEL, PROJECT_ROOT
from pipelines.enrich.vader import FastVader

LEXICON_PATH = PROJECT_ROOT / "config" / "cx_lexicon.tsv"
RULES_PATH = PROJECT_ROOT / "config" / "cx_rules.tsv"
POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's published thresholds (KPIS.md)
CODE_VERSION = "1"  # bump when scoring code changes the numbers: it re-keys the cache
POOL_THRESHOLD = 20_000  # below this many new texts a process pool costs more than it saves
POOL_CHUNK = 5_000
ENQUIRY = re.compile(
    r"^\s*(?:can|could|do|does|is|are|will|what|what's|whats|when|where|how|which|should|may)\b[^.!?\n]*\?\s*$",
    re.IGNORECASE,
)
MARKER = "cx_"  # prefix of the tokens phrases and rules are replaced by


class SentimentModel(Protocol):
    """What the pipeline needs from a sentiment model."""

    name: str
    version: str

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """One score in [-1, 1] per text, in order."""
        ...


class VaderModel:
    """VADER, optionally with a domain lexicon and phrasing rules applied before scoring."""

    def __init__(self, name: str, lexicon_path: Path | None = None, rules_path: Path | None = None) -> None:
        self.name = name
        self._vader = FastVader()
        self._rewrite: Callable[[str], str] | None = None
        sources = [name, CODE_VERSION, package_version("vaderSentiment")]
        tokens: dict[str, str] = {}  # phrase (lower, single-spaced) -> marker token
        alternatives: list[str] = []
        if rules_path is not None:
            text = rules_path.read_text(encoding="utf-8")
            sources.append(text)
            for lineno, (rule, valence, pattern) in _rows(rules_path, text, 3):
                token = f"cx_{rule}"
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{rules_path}:{lineno}: {rule}: bad pattern: {exc}") from None
                self._vader.lexicon[token] = _valence(rules_path, lineno, valence)
                alternatives.append(f"(?P<{token}>{pattern})")
        if lexicon_path is not None:
            text = lexicon_path.read_text(encoding="utf-8")
            sources.append(text)
            for lineno, (term, valence) in _rows(lexicon_path, text, 2):
                words = term.lower().replace("’", "'").split()
                score = _valence(lexicon_path, lineno, valence)
                if len(words) == 1:
                    if score == 0:
                        self._vader.lexicon.pop(words[0], None)  # 0 = neutral in customer service
                    else:
                        self._vader.lexicon[words[0]] = score
                    continue
                token = "cx_" + "_".join(re.sub(r"\W", "", w) for w in words)
                tokens[" ".join(words)] = token
                self._vader.lexicon[token] = score
            if tokens:
                ordered = sorted(tokens, key=len, reverse=True)
                alternatives.append(
                    r"(?P<phrase>\b(?:" + "|".join(r"\s+".join(map(re.escape, p.split())) for p in ordered) + r")\b)"
                )
        self.version = hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]
        if alternatives:
            pattern = re.compile("|".join(alternatives), re.IGNORECASE)

            def marker(m: re.Match[str]) -> str:
                group = m.lastgroup
                token = tokens[" ".join(m.group(0).lower().split())] if group == "phrase" else group
                return f" {token} "

            self._rewrite = lambda text: pattern.sub(marker, text.replace("’", "'"))

    def rewrite(self, text: str) -> str:
        """The text as VADER sees it: phrases and rule matches replaced by marker tokens."""
        return self._rewrite(text) if self._rewrite else text

    def score(self, texts: Sequence[str]) -> np.ndarray:
        compound, rewrite = self._vader.compound, self._rewrite
        if rewrite is None:
            return np.fromiter((compound(t) for t in texts), float, len(texts))
        return np.fromiter((self._domain_score(compound, rewrite(t), t) for t in texts), float, len(texts))

    @staticmethod
    def _domain_score(compound: Callable[[str], float], rewritten: str, original: str) -> float:
        if MARKER not in rewritten and ENQUIRY.match(original):
            return 0.0
        return compound(rewritten)


def _rows(path: Path, text: str, fields: int) -> list[tuple[int, list[str]]]:
    """Tab-separated rows of a config TSV with their line numbers; '#' lines are comments."""
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != fields:
            raise ValueError(f"{path}:{lineno}: expected {fields} tab-separated fields, found {len(parts)}")
        rows.append((lineno, [p.strip() for p in parts]))
    return rows


def _valence(path: Path, lineno: int, value: str) -> float:
    try:
        score = float(value)
    except ValueError:
        raise ValueError(f"{path}:{lineno}: valence {value!r} is not a number") from None
    if not -4 <= score <= 4:
        raise ValueError(f"{path}:{lineno}: valence {score} is outside VADER's scale -4 .. 4")
    return score


MODELS: dict[str, Callable[[], SentimentModel]] = {
    "vader": lambda: VaderModel("vader"),
    "cx_vader": lambda: VaderModel("cx_vader", LEXICON_PATH, RULES_PATH),
}


@cache
def get_model(name: str = DEFAULT_SENTIMENT_MODEL) -> SentimentModel:
    """The named model, built once per process (KeyError for an unknown name; config checks first)."""
    return MODELS[name]()


def score_texts(model: SentimentModel, texts: Sequence[str], *, pool_threshold: int = POOL_THRESHOLD) -> np.ndarray:
    """Scores for `texts`; large batches are split over a process pool on every core."""
    workers = os.cpu_count() or 1
    registered = model.name in MODELS and get_model(model.name) is model  # workers rebuild it by name
    if len(texts) < pool_threshold or workers < 2 or not registered:
        return model.score(texts)
    size = min(POOL_CHUNK, math.ceil(len(texts) / workers))
    chunks = [list(texts[i:i + size]) for i in range(0, len(texts), size)]
    parts = _pool().map(_score_chunk, [model.name] * len(chunks), chunks)
    return np.concatenate(list(parts))


def _score_chunk(name: str, texts: list[str]) -> np.ndarray:
    return get_model(name).score(texts)


@cache
def _pool() -> ProcessPoolExecutor:
    """One pool per process, started lazily. forkserver: workers never inherit the warehouse's threads."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipelines.enrich.sentiment"])
    return ProcessPoolExecutor(max_workers=os.cpu_count(), mp_context=context)


def score_series(
    texts: pd.Series, model: SentimentModel | None = None, lookup: Callable[[list[str]], np.ndarray] | None = None
) -> pd.Series:
    """Scores for a series of texts, each distinct text scored once; null or blank text gives null.

    `lookup` replaces direct scoring of the distinct texts (the warehouse cache passes itself here).
    """
    model = model or get_model()
    present = texts.notna() & (texts.astype("string").str.strip().str.len() > 0)
    out = pd.Series(pd.NA, index=texts.index, dtype="Float64")
    if not present.any():
        return out
    codes, uniques = pd.factorize(texts[present].astype(str), sort=False)
    distinct = uniques.tolist()
    scores = lookup(distinct) if lookup is not None else score_texts(model, distinct)
    out[present.to_numpy()] = scores[codes]
    return out


def label(scores: pd.Series) -> pd.Series:
    """positive ≥ 0.05, negative ≤ −0.05, neutral between; null stays null."""
    out = pd.Series(pd.NA, index=scores.index, dtype="string")
    out[scores >= POSITIVE] = "positive"
    out[scores <= NEGATIVE] = "negative"
    out[(scores > NEGATIVE) & (scores < POSITIVE)] = "neutral"
    return out

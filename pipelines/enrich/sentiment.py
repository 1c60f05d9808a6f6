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

numpy, pandas and Arrow are imported by the functions that use them: a scoring helper process
imports this module to score and needs none of them (with all three it held ~145 MB, with numpy
alone 44 MB, without 28 MB), so it returns plain floats.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import string
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pipelines.config import DEFAULT_SENTIMENT_MODEL, PROJECT_ROOT
from pipelines.enrich.vader import FastVader
from pipelines.helpers import helper_pool, helpers_allowed

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

LEXICON_PATH = PROJECT_ROOT / "config" / "cx_lexicon.tsv"
RULES_PATH = PROJECT_ROOT / "config" / "cx_rules.tsv"
POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's published thresholds (KPIS.md)
CODE_VERSION = "1"  # bump when scoring code changes the numbers: it re-keys the cache
POOL_THRESHOLD = 4_000  # fewer new texts than this cost more on a pool than they save (a load batch: 5-20k)
POOL_CHUNK = 5_000
ENQUIRY = re.compile(
    r"^\s*(?:can|could|do|does|is|are|will|what|what's|whats|when|where|how|which|should|may)\b[^.!?\n]*\?\s*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'-]+")  # the words of a text, in which rule triggers and phrase first words are found
_SEPARATORS = str.maketrans({c: " " for c in string.punctuation if c not in "'-_"})  # the same, for ASCII text
MARKER = "cx_"  # prefix of the tokens phrases and rules are replaced by


class SentimentModel(Protocol):
    """What the pipeline needs from a sentiment model."""

    name: str
    version: str

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """One score in [-1, 1] per text, in order."""
        ...


class VaderModel:
    """VADER, optionally with a domain lexicon and phrasing rules applied before scoring.

    Each rule runs only on texts that contain one of its triggers and each phrase only on texts
    that contain it, so a text pays for the few patterns that can match it. Rules apply in file
    order, then phrases longest first; a span already replaced by a marker is not matched again.
    """

    def __init__(self, name: str, lexicon_path: Path | None = None, rules_path: Path | None = None) -> None:
        self.name = name
        self._vader = FastVader()
        self._rules: list[tuple[str, re.Pattern[str], frozenset[str]]] = []  # (marker, regex, trigger words)
        self._phrases: dict[str, tuple[str, re.Pattern[str]]] = {}  # phrase (lower, single-spaced) -> marker
        sources = [name, CODE_VERSION, package_version("vaderSentiment")]
        if rules_path is not None:
            text = rules_path.read_text(encoding="utf-8")
            sources.append(text)
            for lineno, (rule, valence, triggers, pattern) in _rows(rules_path, text, 4):
                token = f"{MARKER}{rule}"
                try:
                    regex = re.compile(pattern, re.IGNORECASE)
                except re.error as exc:
                    raise ValueError(f"{rules_path}:{lineno}: {rule}: bad pattern: {exc}") from None
                self._vader.lexicon[token] = _valence(rules_path, lineno, valence)
                self._rules.append((token, regex, frozenset(t for t in triggers.lower().split("|") if t)))
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
                token = MARKER + "_".join(re.sub(r"\W", "", w) for w in words)
                regex = re.compile(r"\b" + r"\s+".join(map(re.escape, words)) + r"\b", re.IGNORECASE)
                self._phrases[" ".join(words)] = (token, regex)
                self._vader.lexicon[token] = score
        self.version = hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]
        ordered = sorted(self._phrases, key=len, reverse=True)  # longest first, then file order
        self._rank = {phrase: i for i, phrase in enumerate(ordered)}
        self._by_first: dict[str, list[str]] = {}  # first word -> its phrases
        for phrase in ordered:
            self._by_first.setdefault(phrase.split()[0], []).append(phrase)
        self._firsts = frozenset(self._by_first)
        self._rules_by_trigger: dict[str, list[int]] = {}
        for i, (_, _, triggers) in enumerate(self._rules):
            for word in triggers:
                self._rules_by_trigger.setdefault(word, []).append(i)
        self._triggers = frozenset(self._rules_by_trigger)

    def rewrite(self, text: str) -> str:
        """The text as VADER sees it: rule matches and phrases replaced by marker tokens."""
        if not self._rules and not self._phrases:
            return text
        text = text.replace("’", "'")
        lower = text.lower()
        words = set(lower.translate(_SEPARATORS).split() if lower.isascii() else _WORD.findall(lower))
        hits = words & self._triggers
        if hits:
            for i in sorted(set().union(*(self._rules_by_trigger[w] for w in hits))):  # in file order
                token, regex, _ = self._rules[i]
                text = regex.sub(f" {token} ", text)
        firsts = words & self._firsts
        if firsts:
            key = " ".join(lower.split())
            present = [p for first in firsts for p in self._by_first[first] if p in key]
            for phrase in sorted(present, key=self._rank.__getitem__):  # not set order: it varies by process
                token, regex = self._phrases[phrase]
                text = regex.sub(f" {token} ", text)
        return text

    def score(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        return np.array(self.compounds(texts), dtype=float)

    def compounds(self, texts: Sequence[str]) -> list[float]:
        """The scores as Python floats: what a scoring helper sends back, without loading numpy."""
        compound = self._vader.compound
        if not self._rules and not self._phrases:
            return [compound(t) for t in texts]
        rewrite = self.rewrite
        return [self._domain_score(compound, rewrite(t), t) for t in texts]

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


MODELS: dict[str, Callable[[], VaderModel]] = {
    "vader": lambda: VaderModel("vader"),
    "cx_vader": lambda: VaderModel("cx_vader", LEXICON_PATH, RULES_PATH),
}


@cache
def get_model(name: str = DEFAULT_SENTIMENT_MODEL) -> VaderModel:
    """The named model, built once per process (KeyError for an unknown name; config checks first)."""
    return MODELS[name]()


def score_texts(model: SentimentModel, texts: Sequence[str], *, pool_threshold: int = POOL_THRESHOLD) -> np.ndarray:
    """Scores for `texts`; large batches are shared out over every core: one share here, the others
    on a pool of helpers (this process would otherwise wait, and every helper costs memory)."""
    import numpy as np

    registered = model.name in MODELS and get_model(model.name) is model  # helpers rebuild it by name
    if len(texts) < pool_threshold or not registered or not helpers_allowed():
        return model.score(texts)
    cores = os.cpu_count() or 1
    mine = len(texts) // cores  # this process's share; the helpers' follow
    size = min(POOL_CHUNK, math.ceil((len(texts) - mine) / (cores - 1)))
    chunks = [list(texts[i:i + size]) for i in range(mine, len(texts), size)]
    parts = helper_pool("sentiment", cores - 1, arrow=False).map(_score_chunk, [model.name] * len(chunks), chunks)
    here = model.score(texts[:mine])
    return np.concatenate([here, *map(np.array, parts)])


def _score_chunk(name: str, texts: list[str]) -> list[float]:
    return get_model(name).compounds(texts)


def score_distinct(model: SentimentModel, texts: pa.Array) -> np.ndarray:
    """Scores for `texts`, in order, each distinct text scored once."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(texts)  # distinct texts, first seen first
    return score_texts(model, encoded.dictionary.to_pylist())[encoded.indices.to_numpy()]


def score_series(
    texts: pd.Series, model: SentimentModel | None = None, lookup: Callable[[pa.Array], np.ndarray] | None = None
) -> pd.Series:
    """Scores for a series of texts, each distinct text scored once; null or blank text gives null.

    `lookup` replaces `score_distinct` (the warehouse cache passes itself here). The column stays in
    Arrow throughout: no Python string is made for a text that is not scored.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    model = model or get_model()
    column = pa.array(texts.astype("str"), pa.large_string(), from_pandas=True)  # chunked if the series is
    values = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    present = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(values), ""), False)
    scores = np.full(len(texts), np.nan)
    if pc.any(present).as_py():
        kept = values.filter(present)
        scores[present.to_numpy(zero_copy_only=False)] = lookup(kept) if lookup else score_distinct(model, kept)
    return pd.Series(pd.array(scores, dtype="Float64"), index=texts.index)  # NaN becomes null


def label(scores: pd.Series) -> pd.Series:
    """positive ≥ 0.05, negative ≤ −0.05, neutral between; null stays null."""
    import pandas as pd

    out = pd.Series(pd.NA, index=scores.index, dtype="string")
    out[scores >= POSITIVE] = "positive"
    out[scores <= NEGATIVE] = "negative"
    out[(scores > NEGATIVE) & (scores < POSITIVE)] = "neutral"
    return out

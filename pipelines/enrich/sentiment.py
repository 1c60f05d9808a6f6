"""Sentiment scoring: VADER with the CX domain lexicon in config/cx_lexicon.tsv.

VADER knows general English; customer-service complaints ("cancelled, on hold for two hours")
often carry none of its words, so the domain lexicon adds terms and multi-word phrases. Phrases
are joined into single tokens before scoring, because VADER looks words up one at a time.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd

from pipelines.config import PROJECT_ROOT

LEXICON_PATH = PROJECT_ROOT / "config" / "cx_lexicon.tsv"
POSITIVE, NEGATIVE = 0.05, -0.05  # VADER's published thresholds (KPIS.md)


class Scorer:
    """Scores texts in [-1, 1]; each distinct text is scored once per call."""

    def __init__(self, lexicon_path: Path = LEXICON_PATH) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        phrases: dict[str, str] = {}
        for line in lexicon_path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            term, valence = line.rsplit("\t", 1)
            token = term.strip().lower().replace(" ", "_").replace("'", "")
            self._vader.lexicon[token] = float(valence)
            if " " in term.strip():
                phrases[term.strip().lower()] = token
        ordered = sorted(phrases, key=len, reverse=True)
        self._phrase_re = re.compile(r"\b(" + "|".join(map(re.escape, ordered)) + r")\b", re.I) if ordered else None
        self._phrases = phrases

    def score_one(self, text: str) -> float:
        if self._phrase_re is not None:
            text = self._phrase_re.sub(lambda m: self._phrases[m.group(0).lower()], text)
        return float(self._vader.polarity_scores(text)["compound"])

    def score(self, texts: pd.Series) -> pd.Series:
        """Compound scores for a series of texts; null or blank text gives null."""
        present = texts.dropna()
        present = present[present.str.strip().str.len() > 0]
        scores = {t: self.score_one(t) for t in present.unique()}
        return texts.map(scores).astype("Float64")


def label(scores: pd.Series) -> pd.Series:
    """positive ≥ 0.05, negative ≤ −0.05, neutral between; null stays null."""
    out = pd.Series(pd.NA, index=scores.index, dtype="string")
    out[scores >= POSITIVE] = "positive"
    out[scores <= NEGATIVE] = "negative"
    out[(scores > NEGATIVE) & (scores < POSITIVE)] = "neutral"
    return out


@cache
def default_scorer() -> Scorer:
    """The configured model, built once per process."""
    return Scorer()

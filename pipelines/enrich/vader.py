"""VADER's compound score with its per-text overhead trimmed, giving the same numbers.

`vaderSentiment` walks every character of every text looking for emoji and lower-cases the
whole sentence again for each of the three words before every sentiment word. On a batch of
reviews that bookkeeping costs about as much as the scoring itself. `FastVader` keeps VADER's
rules and constants and only changes how often work is repeated; `test_sentiment` checks it
against the stock analyzer text by text.
"""

from __future__ import annotations

import re
import string

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    normalize,
    scalar_inc_dec,
)

_NEGATE = frozenset(NEGATE)
_PUNCTUATION = string.punctuation
_NON_ASCII = re.compile(r"[^\x00-\x7f]")  # every emoji VADER knows is one non-ASCII character


def _negated(word_lower: str) -> bool:
    """VADER's `negated([word])` for one lower-case word."""
    return word_lower in _NEGATE or "n't" in word_lower


_IDIOM_WORDS = frozenset(  # every word of a multi-word special case or booster: no idiom can match without one
    w for key in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in key for w in key.split(" ")
)


class FastVader(SentimentIntensityAnalyzer):
    """VADER with the same lexicon semantics and a cheaper path to the compound score."""

    def __init__(self) -> None:
        super().__init__()

    def _replace_emoji(self, text: str) -> str:
        """VADER's character loop as one regex pass: a description, spaced from a non-space before it."""
        emojis = self.emojis

        def describe(m: re.Match[str]) -> str:
            description = emojis.get(m.group(0))
            if description is None:
                return m.group(0)
            start = m.start()
            return (" " if start > 0 and text[start - 1] != " " else "") + description

        return _NON_ASCII.sub(describe, text)

    def compound(self, text: str) -> float:
        """`polarity_scores(text)["compound"]`, without computing neg/neu/pos."""
        if not text.isascii():
            text = self._replace_emoji(text)
        text = text.strip()
        # VADER strips punctuation from a token unless at most two characters would be left
        words = [s if len(s := w.strip(_PUNCTUATION)) > 2 else w for w in text.split()]
        lower = [w.lower() for w in words]
        lexicon = self.lexicon
        if lexicon.keys().isdisjoint(lower):
            return 0.0
        uppers = sum(map(str.isupper, words))
        is_cap_diff = 0 < len(words) - uppers < len(words)  # VADER's allcap_differential
        sentiments: list[float] = []
        n = len(words)
        for i, low in enumerate(lower):
            if low in BOOSTER_DICT or (low == "kind" and i < n - 1 and lower[i + 1] == "of"):
                sentiments.append(0)
                continue
            sentiments.append(self._valence(words, lower, i, is_cap_diff) if low in lexicon else 0)
        if "but" in lower:
            sentiments = self._but_check(lower, sentiments)
        return self._compound(sentiments, text)

    def _valence(self, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
        """VADER's `sentiment_valence` for word i (a lexicon word), on pre-lowered words."""
        lexicon = self.lexicon
        low = lower[i]
        valence = lexicon[low]
        n = len(words)
        if low == "no" and i != n - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no") or (
            i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor")
        ):
            valence = lexicon[low] * N_SCALAR
        item = words[i]
        if item.isupper() and is_cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            j = i - (start_i + 1)
            if i > start_i and lower[j] not in lexicon:
                s = scalar_inc_dec(words[j], valence, is_cap_diff) if lower[j] in BOOSTER_DICT else 0.0
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation(valence, lower, start_i, i)
                if start_i == 2:
                    valence = _idioms(valence, lower, i)
        return self._least(valence, lower, i)

    def _least(self, valence: float, lower: list[str], i: int) -> float:
        lexicon = self.lexicon
        if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            if lower[i - 2] != "at" and lower[i - 2] != "very":
                valence = valence * N_SCALAR
        elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            valence = valence * N_SCALAR
        return valence

    def _compound(self, sentiments: list[float], text: str) -> float:
        if not sentiments:
            return 0.0
        sum_s = float(sum(sentiments))
        emphasis = self._punctuation_emphasis(text)
        if sum_s > 0:
            sum_s += emphasis
        elif sum_s < 0:
            sum_s -= emphasis
        return round(normalize(sum_s), 4)


def _negation(valence: float, lower: list[str], start_i: int, i: int) -> float:
    """VADER's `_negation_check` on pre-lowered words."""
    if start_i == 0:
        if _negated(lower[i - 1]):
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif _negated(lower[i - 2]):
            valence = valence * N_SCALAR
    else:
        if (lower[i - 3] == "never" and lower[i - 2] in ("so", "this")) or lower[i - 1] in ("so", "this"):
            valence = valence * 1.25
        elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
            pass
        elif _negated(lower[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _idioms(valence: float, lower: list[str], i: int) -> float:
    """VADER's `_special_idioms_check` on pre-lowered words (called only when i > 2)."""
    w3, w2, w1, w0 = lower[i - 3], lower[i - 2], lower[i - 1], lower[i]
    if w0 not in _IDIOM_WORDS and w1 not in _IDIOM_WORDS and w2 not in _IDIOM_WORDS:
        return valence  # every sequence checked below holds w0, w1 or w2
    onezero, twoonezero, twoone = f"{w1} {w0}", f"{w2} {w1} {w0}", f"{w2} {w1}"
    threetwoone, threetwo = f"{w3} {w2} {w1}", f"{w3} {w2}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    n = len(lower)
    if n - 1 > i:
        zeroone = f"{w0} {lower[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{w0} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence

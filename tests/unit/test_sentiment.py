"""Sentiment models: the registry and its configuration, VADER parity, CX rules, quality, pooling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from benchmarks.sentiment_eval import cs_f1, load_cs
from benchmarks.sentiment_speed import sample_texts
from pipelines.config import Settings, load_config
from pipelines.enrich.sentiment import (
    _WORD,
    LEXICON_PATH,
    RULES_PATH,
    VaderModel,
    get_model,
    label,
    score_series,
    score_texts,
)
from pipelines.enrich.vader import FastVader
from pipelines.errors import ConfigError
from pipelines.helpers import running, stop_helpers

GOOD = """\
timezone: UTC
sentiment:
  model: {model}
sources:
  - name: trustpilot
    family: review
    format: trustpilot_json
    path: "{{landing}}/*.json"
"""


# -- configuration -----------------------------------------------------------------------------

def test_sources_yml_chooses_the_model(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text(GOOD.format(model="vader"))
    assert load_config(path).sentiment_model == "vader"
    path.write_text(GOOD.replace("sentiment:\n  model: {model}\n", ""))
    assert load_config(path).sentiment_model == "cx_vader"  # the default


def test_unknown_model_in_sources_yml_names_file_line_and_key(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text(GOOD.format(model="bert"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:3: sentiment.model: unknown sentiment model 'bert'")
    assert "cx_vader, vader" in str(info.value)
    path.write_text(GOOD.format(model="vader").replace("model: vader", "model: vader\n  lexicon: x.tsv"))
    with pytest.raises(ConfigError, match=r":4: sentiment.lexicon: unknown key 'lexicon'"):
        load_config(path)


def test_environment_overrides_and_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_HOME", str(tmp_path))
    monkeypatch.setenv("CX_PII_KEY", "k")
    monkeypatch.setenv("CX_SENTIMENT_MODEL", "vader")
    assert Settings.from_env().sentiment_model == "vader"
    monkeypatch.setenv("CX_SENTIMENT_MODEL", "roberta")
    with pytest.raises(ConfigError, match="CX_SENTIMENT_MODEL: unknown sentiment model 'roberta'"):
        Settings.from_env()


# -- VADER parity and the CX layer ---------------------------------------------------------------

def test_fast_vader_gives_stock_vader_scores():
    texts = sample_texts(1500) + load_cs()["text"].tolist() + [
        "", "   ", "😀😀ok", "good😀ok 😡", "KIND of GREAT!!!", "not the least bit good", "no no good",
        "It was never so good, but the food was AWFUL??", "without doubt the best", "I don't love it",
        "the food was the bomb", "yeah right, great service", "a kiss of death, sad", "cake to die for",
        "it was kind of good", "sort of bad really", "just enough good", "VERY good but NOT great",
    ]
    assert any(not t.isascii() for t in texts)  # the emoji path is exercised
    stock, fast = SentimentIntensityAnalyzer(), FastVader()
    assert [fast.compound(t) for t in texts] == [stock.polarity_scores(t)["compound"] for t in texts]


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ("I was on hold for 40 minutes.", "cx_wait_time"),
        ("Waited 3 hours at the desk.", "cx_wait_time"),
        ("I called three times about the same fault.", "cx_repeat_contact"),
        ("This is my third email about it.", "cx_repeat_ordinal"),
        ("The engineer was supposed to come on Monday.", "cx_unmet"),
        ("They promised a refund but I have had nothing.", "cx_broken_promise"),
        ("Still no refund.", "cx_still"),
        ("Nobody has called me back.", "cx_nobody_acts"),
        ("Your app is down.", "cx_down"),
        ("Great, another delay.", "cx_sarcasm"),
        ("It's been three weeks.", "cx_elapsed"),
        ("Been without internet since Friday.", "cx_without_service"),
        ("No food, no water, no information.", "cx_no_list"),
        ("Parcel stuck in transit for 6 days.", "cx_duration"),
    ],
)
def test_customer_service_rules_turn_complaints_negative(text, marker):
    """Each rule fires on its phrasing and makes the text negative (VADER alone misses most)."""
    model = get_model("cx_vader")
    assert marker in model.rewrite(text)
    assert model.score([text])[0] <= -0.05


def test_rule_triggers_cover_every_match():
    """A rule runs only on texts holding one of its trigger words: no text it matches may lack one."""
    model = get_model("cx_vader")
    texts = sample_texts(3000, seed=5) + load_cs()["text"].tolist() + [
        "I waited 2 hrs", "They said it would be fixed, but it wasn't.", "My 4th email. Again!", "Nobody rang back.",
        "No-one has answered.", "Still not fixed.", "no wifi, no tv", "Great, another outage", "Thanks a lot.",
    ]
    fired = set()
    for text in texts:
        words = set(_WORD.findall(text.lower()))
        for token, regex, triggers in model._rules:
            if regex.search(text):
                fired.add(token)
                assert triggers & words, f"{token} matches {text!r} but none of its triggers occurs"
    assert len(fired) >= 15  # the corpus exercises most rules


@pytest.mark.parametrize(
    "text",
    ["Answered in under a minute.", "My bill actually went down this year.", "Sorted it out with no fuss at all.",
     "Arrived a day early."],
)
def test_service_that_worked_is_positive(text):
    """The positive rules and phrases: fast answers, prices going down, a fuss-free fix."""
    assert get_model("cx_vader").score([text])[0] >= 0.05


def test_negated_domain_positives_turn_negative():
    model = get_model("cx_vader")
    assert model.score(["The issue is resolved."])[0] >= 0.05
    assert model.score(["The issue is not resolved."])[0] <= -0.05
    assert model.score(["It never got fixed."])[0] <= -0.05


def test_plain_enquiries_are_neutral_but_complaints_phrased_as_questions_are_not():
    model = get_model("cx_vader")
    assert get_model("vader").score(["Can I cancel my order?"])[0] <= -0.05  # VADER reads "cancel" as bad
    assert model.score(["Can I cancel my order?"])[0] == 0.0
    assert model.score(["Why has nobody called me back?"])[0] <= -0.05


def test_model_version_follows_lexicon_and_rules(tmp_path):
    edited = tmp_path / "lexicon.tsv"
    edited.write_text(LEXICON_PATH.read_text() + "gutted\t-2.5\n")
    base = VaderModel("cx_vader", LEXICON_PATH, RULES_PATH)
    assert VaderModel("cx_vader", LEXICON_PATH, RULES_PATH).version == base.version  # stable
    assert VaderModel("cx_vader", edited, RULES_PATH).version != base.version
    assert get_model("vader").version != base.version


def test_bad_lexicon_lines_name_file_and_line(tmp_path):
    bad = tmp_path / "lexicon.tsv"
    bad.write_text("# comment\ngood\t1.0\nawful\tvery\n")
    with pytest.raises(ValueError, match=r"lexicon.tsv:3: valence 'very' is not a number"):
        VaderModel("x", bad)


class _Recording:
    """The default model, recording every batch it is asked to score."""

    name, version = "recording", "1"

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def score(self, texts: list[str]) -> np.ndarray:
        self.seen.append(list(texts))
        return get_model().score(texts)


def test_series_scores_distinct_texts_once_and_keeps_nulls():
    model = _Recording()
    texts = pd.Series(["Still waiting.", None, "  ", "Love it", "Still waiting."])
    scores = score_series(texts, model)
    assert model.seen == [["Still waiting.", "Love it"]]
    assert scores[0] == scores[4] <= -0.05 and scores[3] >= 0.05
    assert scores.isna().tolist() == [False, True, True, False, False]
    assert label(scores).tolist() == ["negative", pd.NA, pd.NA, "positive", "negative"]
    looked_up: list[list[str]] = []  # a lookup (the warehouse cache) gets every present text
    score_series(texts, model, lambda values: looked_up.append(values.to_pylist()) or np.zeros(len(values)))
    assert looked_up == [["Still waiting.", "Love it", "Still waiting."]]
    chunked = pd.concat([texts[:2], texts[2:]], ignore_index=True)  # Arrow-backed in several chunks
    assert score_series(chunked).equals(scores)


# -- quality --------------------------------------------------------------------------------------

def test_default_beats_vader_alone_on_customer_service_texts():
    cs = load_cs()
    assert len(cs) >= 300 and set(cs["label"]) == {"positive", "neutral", "negative"}
    held_out = cs.iloc[161:]  # not looked at while writing the rules
    assert cs_f1("cx_vader", cs) > cs_f1("vader", cs)
    assert cs_f1("cx_vader", held_out) > cs_f1("vader", held_out)


# -- process pool ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cores", [2, 3])
def test_pooled_and_serial_scores_are_identical(monkeypatch, cores):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)  # the pool runs on a one-core machine too
    model = get_model("cx_vader")
    texts = sample_texts(3001, seed=11)
    stop_helpers()
    pooled = score_texts(model, texts, pool_threshold=1)
    assert running()["sentiment"]._max_workers == cores - 1  # the pool really ran; this process scored a share
    assert np.array_equal(pooled, model.score(texts))
    stop_helpers()


def test_the_scoring_helpers_load_neither_numpy_nor_pandas_nor_arrow(monkeypatch):
    """They would hold ~145 MB each instead of ~28 beside a large load (benchmarks/HISTORY.md, tenth round)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stop_helpers()
    model, texts = get_model("cx_vader"), sample_texts(100, seed=3)
    assert np.array_equal(score_texts(model, texts, pool_threshold=1), model.score(texts))  # half came from it
    (pid,) = running()["sentiment"]._processes
    mapped = " ".join(m.path for m in psutil.Process(pid).memory_maps())
    assert "/site-packages/yaml/" in mapped  # the maps are readable: the config's YAML library is there
    assert "/numpy/" not in mapped and "/pandas/" not in mapped and "/pyarrow/" not in mapped
    stop_helpers()


def test_scores_do_not_depend_on_the_process_hash_seed(tmp_path):
    """Cached scores are shared across processes, so set iteration order must never reach a score."""
    script = (
        "import sys; from benchmarks.sentiment_speed import sample_texts; "
        "from benchmarks.sentiment_eval import load_cs; from pipelines.enrich.sentiment import get_model; "
        "texts = sample_texts(1500, seed=13) + load_cs()['text'].tolist(); "
        "sys.stdout.write(','.join(map(repr, get_model('cx_vader').score(texts).tolist())))"
    )
    root = Path(__file__).parents[2]
    outputs = {
        subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(root)}).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1

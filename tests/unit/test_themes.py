"""Theme taxonomy: loading with file:line errors, multi-label tagging and journey/pyramid hints."""

import re
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from benchmarks.themes_speed import sample_texts
from pipelines.errors import ConfigError
from pipelines.kpis.themes import DEFAULT_TAXONOMY, MAX_THEMES, hits_distinct, load_taxonomy, tag

SMALL = """\
version: "t1"
themes:
  billing:
    category: money
    pyramid_level: utility
    journey_stage: use
    touchpoint: web
    phrases: [bill, overcharged]
  app:
    category: digital
    pyramid_level: usability
    touchpoint: app
    phrases: [the app]
    patterns: ['crash\\w*']
  delight:
    category: emotion
    pyramid_level: pleasure
    journey_stage: loyalty
    phrases: [brilliant]
"""


def _taxonomy(tmp_path, text=SMALL):
    path = tmp_path / "themes.yml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def test_shipped_taxonomy_loads_and_is_versioned():
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    assert taxonomy.version and len(taxonomy.themes) >= 10
    assert {t.pyramid_level for t in taxonomy.themes} == {"utility", "usability", "pleasure"}


def test_multi_label_whole_words_case_insensitive(tmp_path):
    taxonomy = _taxonomy(tmp_path)
    hits = taxonomy.matches(pd.Series([
        "The APP crashed while paying my Bill",  # app (pattern crash\w*, phrase "the app") + billing
        "Billing portal",                         # "bill" is not a whole word in "Billing": nothing
        "Brilliant!",                             # delight
        None,                                     # no text: nothing
        "the\n  app is fine",                     # whitespace inside a phrase matches any run
    ]))
    assert hits.to_dict("list") == {
        "billing": [True, False, False, False, False],
        "app": [True, False, False, False, True],
        "delight": [False, False, True, False, False],
    }


def test_tags_and_hints_take_the_first_theme_with_each_hint(tmp_path):
    taxonomy = _taxonomy(tmp_path)
    d = date(2026, 3, 1)
    feedback = pd.DataFrame({"feedback_id": ["a", "b", "c"], "feedback_date": [d] * 3,
                             "text": ["app crashing, brilliant bill", "nothing here", "brilliant"]})
    tags, hints = tag(taxonomy, feedback)
    assert sorted(map(tuple, tags[["feedback_id", "theme"]].to_numpy())) == [
        ("a", "app"), ("a", "billing"), ("a", "delight"), ("c", "delight")]
    hints = hints.set_index("feedback_id")
    # a: billing is listed first and carries stage, touchpoint and level; c: only delight matches
    assert hints.loc["a"].to_dict() == {"journey_stage": "use", "touchpoint": "web", "pyramid_level": "utility"}
    assert (hints.loc["c", "journey_stage"], hints.loc["c", "pyramid_level"]) == ("loyalty", "pleasure")
    assert pd.isna(hints.loc["c", "touchpoint"])
    assert "b" not in hints.index


def test_threaded_distinct_tagging_equals_one_search_per_text_and_theme():
    taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    texts = sample_texts(600, seed=4)
    texts += texts[:50]  # repeats are tagged once and get the same tags
    compiled = [re.compile(t.pattern, re.IGNORECASE) for t in taxonomy.themes]
    naive = np.array([[p.search(x) is not None for p in compiled] for x in texts])
    assert naive.any() and np.array_equal(taxonomy.hits(pa.array(texts)), naive)
    assert np.array_equal(hits_distinct(taxonomy, pa.array(texts)), naive)


def test_too_many_themes_for_the_tag_cache_is_a_config_error(tmp_path):
    many = "".join(f"  t{i}:\n    category: c\n    phrases: [w{i}]\n" for i in range(MAX_THEMES + 1))
    with pytest.raises(ConfigError, match=f"themes: {MAX_THEMES + 1} themes; at most {MAX_THEMES}"):
        _taxonomy(tmp_path, 'version: "x"\nthemes:\n' + many)


@pytest.mark.parametrize(("text", "where"), [
    (SMALL.replace("pyramid_level: usability", "pyramid_level: joy"), ":11: themes.app.pyramid_level: 'joy'"),
    (SMALL.replace("'crash\\w*'", "'(?<=a)b'"), ":14: themes.app.patterns.0: bad regular expression"),
    (SMALL.replace("    category: emotion\n", ""), ":15: themes.delight: missing required key 'category'"),
    (SMALL.replace('version: "t1"\n', ""), ":1: version: missing required key"),
    (SMALL.replace("    touchpoint: app\n", "    colour: red\n"), ":12: themes.app.colour: unknown key 'colour'"),
    (SMALL.replace("journey_stage: use", "journey_stage: browsing"), ":6: themes.billing.journey_stage:"),
    (SMALL.replace("  app:", "  App:"), ":9: themes.App: theme name"),
    (SMALL + "  empty:\n    category: x\n", ":20: themes.empty: needs at least one"),
    ("themes: [a, b\n", ":2: malformed YAML"),
])
def test_bad_taxonomy_names_file_line_and_key(tmp_path, text, where):
    with pytest.raises(ConfigError) as err:
        _taxonomy(tmp_path, text)
    assert f"{tmp_path / 'themes.yml'}{where}" in str(err.value)

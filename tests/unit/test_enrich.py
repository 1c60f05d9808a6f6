"""PII redaction, identifier hashing, brand detection and sentiment labels."""

import hashlib
import hmac

import pandas as pd
import pytest

from pipelines.enrich.pii import hash_ids, redact
from pipelines.enrich.sentiment import get_model, label
from pipelines.enrich.stage import _names


def test_redacts_emails_and_phone_numbers_but_not_order_numbers():
    text = pd.Series([
        "Write to jane.doe+cx@mail.example.co.uk please",
        "Call me on +44 20 7946 0958 or 07700 900123",
        "Order 12345 came on 2026-03-01, ref AB-99",
        None,
    ])
    assert redact(text).tolist() == [
        "Write to [email] please",
        "Call me on [phone] or [phone]",
        "Order 12345 came on 2026-03-01, ref AB-99",
        pd.NA,
    ]


def test_phone_numbers_in_any_script_are_redacted_among_texts_without_digits():
    """Only texts with nine numerals or more reach the phone pattern; numerals of any script count."""
    texts = pd.Series(["fine, thanks", "call ٠١٢٣ ٤٥٦ ٧٨٩٠ now", "tel ０１２３４ ５６７８９０", "order 12345", None,
                       "ring +44 20 7946 0958"], dtype="string")
    assert redact(texts).tolist() == ["fine, thanks", "call [phone] now", "tel [phone]", "order 12345", pd.NA,
                                      "ring [phone]"]


@pytest.mark.parametrize("dtype", [object, "string[python]", "string[pyarrow]"])  # as parsed, staged, read back
def test_hashes_are_keyed_normalized_and_null_safe(dtype):
    values = pd.Series(["Jane@Example.com ", "jane@example.com", None, ""], index=[7, 5, 3, 1], name="author",
                       dtype=dtype)
    a, b = hash_ids(values, b"key-one"), hash_ids(values, b"key-two")
    assert a[7] == a[5] == hmac.new(b"key-one", b"jane@example.com", hashlib.sha256).hexdigest()[:32]
    assert a[7] != b[7]  # the key matters
    assert pd.isna(a[3]) and pd.isna(a[1])
    assert list(a.index) == [7, 5, 3, 1] and a.name == "author" and a.dtype == "string"


def test_brand_names_as_words_handles_and_hashtags():
    text = pd.Series(["Loving @Acme today", "#acme rocks", "Acmeville is nice", "globex is better", None])
    assert _names(text, ("Acme",)).tolist() == [True, True, False, False, False]
    assert _names(text, ("Globex", "Initech")).tolist() == [False, False, False, True, False]


def test_a_name_counts_with_no_letter_or_digit_beside_it():
    """At either end of the text, beside punctuation, an underscore or a line break; not inside a
    word or a number, whatever the case; a name's own punctuation is literal."""
    text = pd.Series(["acme", "ACME!", "x@acme", "_acme_", "#Acme#", "Acme\nco", "acme1", "1acme", "Acmes",
                      "a.c.m.e", "", None], index=range(20, 32), dtype="string")
    assert _names(text, ("Acme",)).tolist() == [True] * 6 + [False] * 6
    assert _names(text, ("Acme",)).index.tolist() == list(range(20, 32))
    assert _names(pd.Series(["a.c ok", "abc ok", "x+y", "xxy"]), ("a.c", "x+y")).tolist() == [True, False, True, False]


def test_domain_lexicon_turns_service_complaints_negative():
    plain = "My order never arrived and I was on hold for an hour."
    assert get_model("vader").score([plain])[0] > -0.05  # VADER alone misses it
    assert get_model("cx_vader").score([plain])[0] <= -0.05


def test_labels_use_vader_thresholds():
    scores = pd.Series([0.05, 0.049, -0.05, -0.049, None], dtype="Float64")
    assert label(scores).tolist() == ["positive", "neutral", "negative", "neutral", pd.NA]

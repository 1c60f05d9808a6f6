"""PII never reaches staging or the marts: text is redacted and identifiers are hashed."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd

EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
# International or national numbers of 9+ digits, allowing spaces, dots, dashes and brackets.
PHONE = r"(?<![\w])(?:\+\d{1,3}[\s.\-]?)?(?:\(?\d{2,5}\)?[\s.\-]?){2,4}\d{3,4}(?![\w])"


def redact(text: pd.Series) -> pd.Series:
    """Replace e-mail addresses with `[email]` and phone numbers with `[phone]`."""
    out = text.astype("string").str.replace(EMAIL, "[email]", regex=True)
    return out.str.replace(PHONE, _phone_or_keep, regex=True)


def _phone_or_keep(match) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    return "[phone]" if digits >= 9 else match.group(0)


def hash_ids(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of normalized identifiers (trimmed, lower-case); nulls stay null."""
    def one(value: object) -> object:
        if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
            return pd.NA
        norm = str(value).strip().lower()
        if not norm:
            return pd.NA
        return hmac.new(key, norm.encode(), hashlib.sha256).hexdigest()[:32]

    uniques = values.dropna().unique()
    mapping = {v: one(v) for v in uniques}
    return values.map(mapping).astype("string")

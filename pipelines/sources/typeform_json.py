"""Typeform responses (`typeform_json`): Responses API pages, `GET /forms/{form_id}/responses`.

Variants read: one page `{"total_items", "page_count", "items": [...]}`, or a JSON array of
response items (pages saved and concatenated). Each item: `token` (also `response_id`),
`landed_at`, `submitted_at`, `metadata {platform, referer, …}`, `hidden {customer_id, …}`,
`calculated {score}`, `answers [{field {id, ref, type}, type, number | text | choice {label} |
choices {labels} | boolean | email | date | …}]`.

Roles: `response_id: token`, `submitted_at`, `respondent: hidden.customer_id`, `channel:
metadata.platform`. Answers are found by the question's `ref` or `id` in `fields` (`nps:
nps_question`, `comment: 9f1c…`); without a mapping the first `nps` question gives `nps`, the first
`rating` question `csat` and the first `long_text` answer `comment`. Any other `fields` value is a
dotted path into the item (`product: hidden.product`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.sources.base import Drift
from pipelines.sources.records import Hook, RecordFormat, json_items, json_value, record_batches

BY_TYPE = {"nps": "nps", "csat": "rating", "comment": "long_text"}
ROLES = ("nps", "csat", "ces", "comment", "journey_stage", "touchpoint", "product", "location")
VALUE_KEYS = ("number", "text", "email", "url", "date", "boolean", "phone_number", "file_url")


def answer_value(answer: dict[str, Any]) -> Any:
    """The value of one answer, whatever its type (a choice gives its label, choices their labels)."""
    kind = answer.get("type")
    if kind == "choice":
        choice = answer.get("choice") or {}
        return choice.get("label") or choice.get("other")
    if kind == "choices":
        choices = answer.get("choices") or {}
        return "; ".join([*(choices.get("labels") or []), *([choices["other"]] if choices.get("other") else [])])
    return answer.get(kind) if kind in VALUE_KEYS else next((answer[k] for k in VALUE_KEYS if k in answer), None)


def _finish_for(fields: dict[str, str]) -> Hook:
    """The hook that fills survey roles from an item's answers, by `fields` ref / id or by question type."""
    def finish(item: dict[str, Any], row: dict[str, Any]) -> None:
        answers = [a for a in item.get("answers") or [] if isinstance(a, dict)]
        by_key: dict[str, Any] = {}
        by_type: dict[str, Any] = {}
        for answer in answers:
            field = answer.get("field") or {}
            value = answer_value(answer)
            for key in (field.get("ref"), field.get("id")):
                if key:
                    by_key.setdefault(str(key), value)
            by_type.setdefault(str(field.get("type")), value)
        for role in ROLES:
            wanted = fields.get(role)
            if wanted is not None and wanted in by_key:
                row[role] = json_value(by_key[wanted], numeric=role in ("nps", "csat", "ces"), text=True)
            elif wanted is None and role in BY_TYPE and BY_TYPE[role] in by_type:
                row[role] = json_value(by_type[BY_TYPE[role]], numeric=role != "comment", text=True)
    return finish


def record_format(source: SourceConfig) -> RecordFormat:
    """The mapping of one Typeform source: answers by ref or id, other roles by path."""
    return RecordFormat(
        family="survey",
        fields={"response_id": "token", "submitted_at": "submitted_at", "respondent": "hidden.customer_id",
                "channel": "metadata.platform"},
        text_roles=frozenset({"comment", "journey_stage", "touchpoint", "product", "location", "channel"}),
        keys=("token", "submitted_at", "answers"),
        optional_keys=("landing_id", "response_id", "response_type", "landed_at", "metadata", "hidden",
                       "calculated", "variables", "tags"),
        finish=_finish_for(source.fields),
        list_keys=("items",),
    )


def read(path: Path, source: SourceConfig, tz: ZoneInfo, drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """Canonical survey batches from one Typeform responses file (see the module docstring)."""
    fmt = record_format(source)
    return record_batches(enumerate(json_items(path, fmt.list_keys), start=1), path, source, tz, fmt, drift)

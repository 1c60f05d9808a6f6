"""The bad-input corpus: every breakage FORMATS.md lists for the built-in formats, plus hostile text.

Each case is a landing file (written here, byte for byte) for one business day of one source. The
load must end in a correct load, a quarantine with a clear reason, or — when the whole file is
unusable — a failed source whose message names the file; no exception escapes, and the row
accounting balances and is stored.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.integration.conftest import QUALTRICS_HEADER, _qualtrics

BASE = date(2026, 4, 1)
MEGABYTE = "x" * 1_000_000
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert('pwned')</script><b>bold</b> &amp; &#34;quoted&#34;"
SQLISH = "Robert'); drop table staging.stg_survey_response; --"


@dataclass
class Case:
    """A file for one source, and what must become of it."""

    name: str
    source: str
    files: dict[str, bytes]
    loaded: int = 0
    quarantined: dict[str, str] = field(default_factory=dict)  # id or line marker -> reason fragment
    duplicate: int = 0
    failed: str | None = None  # fragment of the source's failure message
    options: dict = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)  # id -> exact text stored in staging


def survey(rows: list[tuple], day: date) -> str:
    """A Qualtrics export for `day`; rows are (id, hh:mm, nps, csat, comment)."""
    return _qualtrics([(rid, f"{day} {hm}:00", nps, csat, comment) for rid, hm, nps, csat, comment in rows])


def review(i: int | str | float, day: date, **extra) -> dict:
    return {
        "id": i,
        "stars": 4,
        "title": "Fine",
        "text": "Did the job.",
        "language": "en",
        "createdAt": f"{day}T10:00:00.000Z",
        "updatedAt": None,
        "consumer": {"displayName": "C"},
        **extra,
    }


def post(i: int, day: date, **extra) -> dict:
    return {
        "id": f"19{i:017d}",
        "text": f"post {i}",
        "created_at": f"{day}T12:00:00.000Z",
        "author_id": "u1",
        "lang": "en",
        **extra,
    }


def jsonl(*posts: dict, sep: str = "\n") -> bytes:
    return (sep.join(json.dumps(p) for p in posts) + sep).encode()


def cases() -> list[Callable[[date], Case]]:
    """Each case built for the business day it is loaded on."""
    out: list[Callable[[date], Case]] = []
    add = out.append
    ok = ("S1", "09:00", 9, 5, "fine")
    # --- qualtrics_csv ------------------------------------------------------------------------
    add(lambda d: Case("bom_crlf", "nps_survey", {"a.csv": survey([ok], d).encode("utf-8-sig")}, loaded=1))
    add(lambda d: Case("no_bom_lf", "nps_survey", {"a.csv": survey([ok], d).replace("\r\n", "\n").encode()}, loaded=1))
    add(
        lambda d: Case(
            "embedded_newline",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, "line one\r\nline two")], d).encode()},
            loaded=1,
            text={"S1": "line one\r\nline two"},
        )
    )
    add(
        lambda d: Case(
            "utf16_declared",
            "nps_survey",
            {"a.csv": survey([ok], d).encode("utf-16")},
            loaded=1,
            options={"encoding": "utf-16"},
        )
    )
    add(
        lambda d: Case(
            "utf16_undeclared", "nps_survey", {"a.csv": survey([ok], d).encode("utf-16")}, failed="missing column"
        )
    )
    add(
        lambda d: Case(
            "latin1_in_utf8",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, "CAFE_")], d).encode().replace(b"CAFE_", b"caf\xe9")},
            loaded=1,
            text={"S1": "caf\u00e9"},  # a byte invalid in UTF-8 is read as Windows-1252, not lost
        )
    )
    add(
        lambda d: Case(
            "invalid_utf8",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, "AB")], d).encode().replace(b"AB", b"\xff\xfe\xc3(")},
            loaded=1,
        )
    )
    add(
        lambda d: Case(
            "renamed_column_found_by_import_id",
            "nps_survey",
            {"a.csv": survey([ok], d).replace("Product", "Product name", 1).encode()},
            loaded=1,
        )
    )
    add(
        lambda d: Case(
            "missing_column",
            "nps_survey",
            {"a.csv": _drop_column(survey([ok], d), "Q1").encode()},
            failed="missing column 'Q1' (nps)",
        )
    )
    add(lambda d: Case("added_column", "nps_survey", {"a.csv": _add_column(survey([ok], d), "Q7").encode()}, loaded=1))
    add(
        lambda d: Case(
            "trailing_summary",
            "nps_survey",
            {"a.csv": (survey([ok], d) + "Total responses: 1\r\n").encode()},
            loaded=1,
            quarantined={"line5": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "excel_mangled_id",
            "nps_survey",
            {"a.csv": survey([ok, ("5.70306E+17", "09:30", 7, 4, "")], d).encode()},
            loaded=1,
            quarantined={"5.70306E+17": "_parse_error"},
        )
    )
    add(lambda d: Case("dates_in_three_formats", "nps_survey", {"a.csv": _dates(d).encode()}, loaded=3))
    add(lambda d: Case("empty_file", "nps_survey", {"a.csv": b""}))
    add(lambda d: Case("header_only", "nps_survey", {"a.csv": survey([], d).encode()}))
    add(
        lambda d: Case(
            "label_without_code",
            "nps_survey",
            {"a.csv": survey([ok, ("S2", "09:30", "Extremely likely", 5, "")], d).encode()},
            loaded=1,
            quarantined={"S2": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "score_out_of_range",
            "nps_survey",
            {"a.csv": survey([ok, ("S2", "09:30", 9, 6, "")], d).encode()},
            loaded=1,
            quarantined={"S2": "csat: expect_column_values_to_be_between [1, 5]"},
        )
    )
    add(
        lambda d: Case(
            "future_timestamp",
            "nps_survey",
            {
                "a.csv": _qualtrics(
                    [("S1", f"{d} 09:00:00", 9, 5, ""), ("S2", f"{d + timedelta(days=2)} 09:00:00", 9, 5, "")]
                ).encode()
            },
            loaded=1,
            quarantined={"S2": "submitted_at: expect_column_values_to_be_between"},
        )
    )
    add(
        lambda d: Case(
            "formula_text",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, FORMULA)], d).encode()},
            loaded=1,
            text={"S1": FORMULA},
        )
    )
    add(
        lambda d: Case(
            "html_and_script",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, SCRIPT)], d).encode()},
            loaded=1,
            text={"S1": SCRIPT},
        )
    )
    add(
        lambda d: Case(
            "sql_like",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, SQLISH)], d).encode()},
            loaded=1,
            text={"S1": SQLISH},
        )
    )
    add(
        lambda d: Case(
            "megabyte_text",
            "nps_survey",
            {"a.csv": survey([ok, ("S2", "09:30", 9, 5, MEGABYTE)], d).encode()},
            loaded=1,
            quarantined={"S2": "comment: expect_column_value_lengths_to_be_between [None, 100000]"},
        )
    )
    add(
        lambda d: Case(
            "control_characters",
            "nps_survey",
            {"a.csv": survey([ok, ("S2", "09:30", 9, 5, "bell\x07 esc\x1b[31m nul\x00")], d).encode()},
            loaded=1,
            quarantined={"S2": "comment: expect_multicolumn_values_to_not_match_regex"},
        )
    )
    add(
        lambda d: Case(
            "emoji",
            "nps_survey",
            {"a.csv": survey([("S1", "09:00", 9, 5, "love it 😍👍🏽")], d).encode()},
            loaded=1,
            text={"S1": "love it 😍👍🏽"},
        )
    )
    add(lambda d: Case("duplicate_rows", "nps_survey", {"a.csv": survey([ok, ok], d).encode()}, loaded=1, duplicate=1))
    # --- trustpilot_json ----------------------------------------------------------------------
    add(lambda d: Case("tp_bom", "trustpilot", {"a.json": json.dumps([review("t1", d)]).encode("utf-8-sig")}, loaded=1))
    add(
        lambda d: Case(
            "tp_truncated",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d)]).encode()[:-20]},
            failed="invalid JSON at line 1",
        )
    )
    add(lambda d: Case("tp_empty_file", "trustpilot", {"a.json": b""}))
    add(lambda d: Case("tp_empty_array", "trustpilot", {"a.json": b"[]"}))
    add(
        lambda d: Case(
            "tp_api_page",
            "trustpilot",
            {"a.json": json.dumps({"reviews": [review("t1", d)], "links": [{"rel": "next-page"}]}).encode()},
            loaded=1,
        )
    )
    add(
        lambda d: Case(
            "tp_entities_and_markup",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, text="Fish &amp; chips <b>great</b> &#34;ok&#34;")]).encode()},
            loaded=1,
        )
    )
    add(
        lambda d: Case(
            "tp_excel_id",
            "trustpilot",
            {"a.json": json.dumps([review("5.70306E+17", d), review("t2", d)]).encode()},
            loaded=1,
            quarantined={"5.70306E+17": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "tp_float_id",
            "trustpilot",
            {"a.json": json.dumps([review(1.5e17, d), review("t2", d)]).encode()},
            loaded=1,
            quarantined={"line1": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "tp_not_an_object",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d), "oops", 3]).encode()},
            loaded=1,
            quarantined={"line2": "_parse_error", "line3": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "tp_stars_out_of_range",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, stars=6)]).encode()},
            quarantined={"t1": "rating: expect_column_values_to_be_between [1, 5]"},
        )
    )
    add(
        lambda d: Case(
            "tp_duplicate_across_pages",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d)]).encode(), "b.json": json.dumps([review("t1", d)]).encode()},
            loaded=1,
            duplicate=1,
        )
    )
    add(
        lambda d: Case(
            "tp_edited_same_file",
            "trustpilot",
            {
                "a.json": json.dumps(
                    [review("t1", d), review("t1", d, stars=2, text="Worse now", updatedAt=f"{d}T15:00:00.000Z")]
                ).encode()
            },
            loaded=1,
            duplicate=1,
            text={"t1": "Fine\nWorse now"},
        )
    )
    add(
        lambda d: Case(
            "tp_invalid_utf8",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, text="AB")]).encode().replace(b"AB", b"caf\xe9")},
            loaded=1,
            text={"t1": "Fine\ncaf\u00e9"},  # read as Windows-1252, not lost
        )
    )
    add(
        lambda d: Case(
            "tp_nul_and_controls",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, text="nul\u0000 bell\u0007"), review("t2", d)]).encode()},
            loaded=1,
            quarantined={"t1": "body: expect_multicolumn_values_to_not_match_regex"},
        )
    )
    add(
        lambda d: Case(
            "tp_megabyte_text",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, text=MEGABYTE)]).encode()},
            quarantined={"t1": "body: expect_column_value_lengths_to_be_between [None, 100000]"},
        )
    )
    add(
        lambda d: Case(
            "tp_script_and_sql",
            "trustpilot",
            {"a.json": json.dumps([review("t1", d, title=SQLISH, text=SCRIPT)]).encode()},
            loaded=1,
            text={"t1": f"{SQLISH}\n{SCRIPT.replace('&amp;', '&').replace('&#34;', chr(34))}"},
        )
    )
    # --- x_jsonl ------------------------------------------------------------------------------
    add(
        lambda d: Case(
            "x_crlf_and_blank_lines",
            "x",
            {"a.jsonl": jsonl(post(1, d), {}, post(2, d), sep="\r\n\r\n")},
            loaded=2,
            quarantined={"line3": "mention_id: expect_column_values_to_not_be_null"},
        )
    )
    add(
        lambda d: Case(
            "x_truncated_line",
            "x",
            {"a.jsonl": jsonl(post(1, d)) + json.dumps(post(2, d)).encode()[:30]},
            loaded=1,
            quarantined={"line2": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "x_invalid_utf8", "x", {"a.jsonl": jsonl(post(1, d, text="AB")).replace(b"AB", b"\xff\xfe")}, loaded=1
        )
    )
    add(
        lambda d: Case(
            "x_raw_nul_byte",
            "x",
            {"a.jsonl": jsonl(post(1, d)) + b'{"id": "1", "text": "a\x00b"}\n'},
            loaded=1,
            quarantined={"line2": "_parse_error"},
        )
    )
    add(
        lambda d: Case(
            "x_numeric_id",
            "x",
            {"a.jsonl": jsonl(post(1, d)).replace(b'"1900000000000000001"', b"1900000000000000001")},
            loaded=1,
        )
    )
    add(
        lambda d: Case(
            "x_search_page",
            "x",
            {"a.jsonl": jsonl({"data": [post(1, d), post(2, d)], "meta": {"result_count": 2}}, {"meta": {}})},
            loaded=2,
        )
    )
    add(lambda d: Case("x_empty_file", "x", {"a.jsonl": b""}))
    add(
        lambda d: Case(
            "x_bom_and_emoji", "x", {"a.jsonl": b"\xef\xbb\xbf" + jsonl(post(1, d, text="🔥 @Acme"))}, loaded=1
        )
    )
    add(
        lambda d: Case(
            "x_formula", "x", {"a.jsonl": jsonl(post(1, d, text='=HYPERLINK("http://x.example","click")'))}, loaded=1
        )
    )
    return out


def _rewrite(text: str, change) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(change(rows))
    return buf.getvalue()


def _drop_column(text: str, name: str) -> str:
    i = QUALTRICS_HEADER.index(name)
    return _rewrite(text, lambda rows: [r[:i] + r[i + 1 :] for r in rows])


def _add_column(text: str, name: str) -> str:
    return _rewrite(
        text,
        lambda rows: [
            [*rows[0], name],
            [*rows[1], name],
            [*rows[2], '{"ImportId":"QID7"}'],
            *[[*r, "extra"] for r in rows[3:]],
        ],
    )


def _dates(d: date) -> str:
    """Three responses, RecordedDate in three formats within one file."""
    text = survey([("S1", "09:00", 9, 5, ""), ("S2", "10:00", 8, 4, ""), ("S3", "11:00", 7, 3, "")], d)
    return text.replace(f"{d} 10:00:00", d.strftime("%m/%d/%Y 10:00")).replace(
        f"{d} 11:00:00", d.strftime("%d %b %Y 11:00")
    )


def test_every_bad_input_ends_loaded_quarantined_or_failed_clearly(tiny):
    problems: list[str] = []
    for offset, make in enumerate(cases()):
        day = BASE + timedelta(days=offset)
        case = make(day)
        source = tiny.config.select([case.source])[0]
        if case.options:
            source = dataclasses.replace(source, options={**source.options, **case.options})
        folder = Path(source.path.format(landing=tiny.settings.landing_dir, date=day.isoformat())).parent
        folder.mkdir(parents=True)
        for name, data in case.files.items():
            (folder / name).write_bytes(data)
        run_id = tiny.start_run(day)
        try:
            result = tiny.load_source(day, source, run_id)
        except Exception as exc:  # noqa: BLE001 - the point: report any escape per case
            problems.append(f"{case.name}: {type(exc).__name__} escaped: {exc}")
            continue
        problems += [f"{case.name}: {p}" for p in _check(tiny, case, result, run_id)]
    assert not problems, "\n".join(problems)


def _check(pipeline, case: Case, result, run_id: str) -> list[str]:
    issues: list[str] = []
    if case.failed:
        if result.status != "failed" or case.failed not in result.message:
            issues.append(f"expected failure {case.failed!r}, got {result.status}: {result.message}")
        elif not any(name in result.message for name in case.files):
            issues.append(f"failure message does not name the file: {result.message}")
        return issues
    if result.status != "success":
        return [f"expected success, got {result.status}: {result.message}"]
    got = (result.rows_loaded, result.rows_quarantined, result.rows_duplicate)
    want = (case.loaded, len(case.quarantined), case.duplicate)
    if got != want:
        issues.append(f"loaded/quarantined/duplicate {got}, expected {want}")
    with pipeline.engine.connect() as conn:
        acct = conn.execute(
            sa.text(
                "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from ops.row_accounting "
                "where run_id = :r"
            ),
            {"r": run_id},
        ).one_or_none()
        if acct is None or acct[0] != acct[1] + acct[2] + acct[3] or acct[0] != result.rows_in:
            issues.append(f"row accounting missing or unbalanced: {acct} for {result.rows_in} in")
        rows = conn.execute(
            sa.text("select line, reason, raw_record from ops.quarantine where run_id = :r"), {"r": run_id}
        ).all()
        for key, fragment in case.quarantined.items():
            hit = [
                r for r in rows if (key.startswith("line") and f"line{r.line}" == key) or key in (r.raw_record or "")
            ]
            if not hit or fragment not in hit[0].reason:
                issues.append(
                    f"{key}: expected quarantine reason containing {fragment!r}, got {[r.reason for r in rows]}"
                )
        table = {
            "nps_survey": ("staging.stg_survey_response", "response_id"),
            "trustpilot": ("staging.stg_review", "review_id"),
            "x": ("staging.stg_mention", "mention_id"),
        }
        name, key = table[case.source]
        for item_id, text in case.text.items():
            stored = conn.execute(sa.text(f"select text from {name} where {key} = :k"), {"k": item_id}).scalar()
            if stored != text:
                issues.append(f"{item_id}: stored text {stored!r:.80}, expected {text!r:.80}")
    return issues

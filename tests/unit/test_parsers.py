"""The three built-in parsers on small hand-written vendor files, realistic and broken.

Every expected value is worked out by hand from the fixture text: line numbers count physical
lines (a quoted newline is a line), London summer time is UTC+1, New York winter time UTC−5.
"""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources import base, get_parser, qualtrics_csv, records, trustpilot_json, x_jsonl
from pipelines.sources.base import META, SCHEMA, parse_json, to_json

LONDON = ZoneInfo("Europe/London")
UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def parse(module, path: Path, source: SourceConfig, tz: ZoneInfo = LONDON) -> pd.DataFrame:
    batches = list(module.read(path, source, tz))
    return pd.concat(batches, ignore_index=True) if batches else pd.DataFrame()


def values(series: pd.Series) -> list:
    """A column as a list with every kind of null as None, for exact comparisons."""
    return [None if pd.isna(x) else x for x in series]


def test_registry_resolves_each_format_to_its_module():
    for fmt, module in [("qualtrics_csv", qualtrics_csv), ("trustpilot_json", trustpilot_json), ("x_jsonl", x_jsonl)]:
        assert get_parser(fmt).args == (module.read,)  # read through the wrapper naming unreadable files


# -- Qualtrics -------------------------------------------------------------------------------------

SURVEY = SourceConfig(name="nps", family="survey", format="qualtrics_csv", path="unused",
                      fields={"nps": "Q1", "csat": "Q2", "comment": "Q3"})
NAMES = "StartDate,EndDate,RecordedDate,ResponseId,RecipientEmail,DistributionChannel,Q1,Q2,Q3"
IDS = ("startDate", "endDate", "recordedDate", "_recordId", "recipientEmail", "distributionChannel", "QID1", "QID2",
       "QID3_TEXT")


def import_row(tz_name: str | None = None) -> str:
    """The third header row: a CSV-quoted `{"ImportId": ...}` per column, dates with their timeZone."""
    cells = []
    for i in IDS:
        spec = {"ImportId": i, **({"timeZone": tz_name} if tz_name and i.endswith("Date") else {})}
        cells.append('"' + json.dumps(spec, separators=(",", ":")).replace('"', '""') + '"')
    return ",".join(cells)


def write(tmp_path: Path, name: str, lines: list[str], newline: str = "\r\n", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((("\ufeff" if bom else "") + newline.join(lines) + newline).encode("utf-8"))
    return path


GERMAN_EXPORT = [
    NAMES,  # 1
    'Startdatum,Enddatum,Aufzeichnungsdatum,Antwort-ID,E-Mail,Verteilungskanal,"Wie wahrscheinlich ist es, dass',  # 2
    'Sie Acme empfehlen?",Wie zufrieden sind Sie?,Warum?',  # 3: the question text spans two lines
    import_row("Europe/London"),  # 4
    '2024-07-01 09:55:00,2024-07-01 10:00:00,2024-07-01 10:00:00,R_1,ann@example.com,email,10,5,"Schnell, nett"',  # 5
    '2024-07-01 11:00:00,2024-07-01 11:05:00,2024-07-01 11:05:00,R_2,,anonymous,6,3,"Erste Zeile',  # 6
    'zweite Zeile mit ""Zitat"""',  # 7
    "2024-07-01 23:25:00,2024-07-01 23:30:00,2024-07-01 23:30:00,R_3,,qr,0,1,",  # 8
]


def test_qualtrics_three_header_rows_bom_crlf_and_embedded_newlines(tmp_path):
    path = write(tmp_path, "export.csv", GERMAN_EXPORT, bom=True)
    df = parse(qualtrics_csv, path, SURVEY)

    assert list(df.columns) == [*SCHEMA["survey"], *META]
    assert values(df["_line"]) == [5, 6, 8]
    assert values(df["response_id"]) == ["R_1", "R_2", "R_3"]
    # London is on BST in July: local 10:00 is 09:00 UTC, 23:30 is 22:30 UTC
    assert values(df["submitted_at"]) == [ts("2024-07-01 09:00"), ts("2024-07-01 10:05"), ts("2024-07-01 22:30")]
    assert values(df["nps"]) == [10.0, 6.0, 0.0]
    assert values(df["csat"]) == [5.0, 3.0, 1.0]
    assert values(df["comment"]) == ["Schnell, nett", 'Erste Zeile\r\nzweite Zeile mit "Zitat"', None]
    assert values(df["respondent"]) == ["ann@example.com", None, None]
    assert values(df["channel"]) == ["email", "anonymous", "qr"]
    assert values(df["_parse_error"]) == [None, None, None]
    assert set(df["_file"]) == {str(path)}
    raw = json.loads(df["_raw"][0])
    assert raw["ResponseId"] == "R_1" and raw["Q3"] == "Schnell, nett" and raw["StartDate"] == "2024-07-01 09:55:00"
    assert list(raw) == sorted(raw)  # compact, key-sorted JSON


LEGACY_EXPORT = [
    NAMES,  # 1
    "Start Date,End Date,Recorded Date,Response ID,Email,Channel,How likely are you to recommend us?,Satisfied?,Why?",
    "2024-01-15 09:00:00,2024-01-15 09:30:00,2024-01-15 09:30:00,R_a,,email,10 - Extremely likely,5,",  # 3
    "2024-01-15 10:00:00,2024-01-15 10:30:00,2024-01-15 10:30:00,R_b,,email,0 - Not at all likely,1,",  # 4
    "2024-01-15 11:00:00,2024-01-15 11:30:00,2024-01-15 11:30:00,R_c,,email,Extremely likely,4,",  # 5
    "2024-01-15 12:00:00,2024-01-15 12:30:00,2024-01-15 12:30:00,R_d,,email,7,4,Fine",  # 6
]


def test_qualtrics_legacy_two_row_header_with_label_coded_nps(tmp_path):
    path = write(tmp_path, "legacy.csv", LEGACY_EXPORT, newline="\n")
    df = parse(qualtrics_csv, path, SURVEY, tz=ZoneInfo("America/New_York"))

    assert values(df["_line"]) == [3, 4, 5, 6]  # data starts on row 3: there is no ImportId row
    assert values(df["response_id"]) == ["R_a", "R_b", "R_c", "R_d"]
    assert values(df["nps"]) == [10.0, 0.0, None, 7.0]  # a leading number wins; a bare label has no position
    assert values(df["_parse_error"]) == [None, None, "nps: label 'Extremely likely' has no numeric code", None]
    # no timezone configured or declared: the business timezone passed in (New York, EST = UTC-5)
    assert df["submitted_at"][0] == ts("2024-01-15 14:30")


def test_qualtrics_timezone_option_beats_the_declared_one_which_beats_the_business_one(tmp_path):
    lines = [NAMES, "q", import_row("America/Denver"),
             "2024-07-01 10:00:00,2024-07-01 10:00:00,2024-07-01 10:00:00,R_1,,email,9,5,"]
    path = write(tmp_path, "denver.csv", lines)
    declared = parse(qualtrics_csv, path, SURVEY, tz=LONDON)
    assert declared["submitted_at"][0] == ts("2024-07-01 16:00")  # MDT = UTC-6, not London
    configured = SourceConfig(**{**SURVEY.__dict__, "options": {"timezone": "Asia/Tokyo"}})
    assert parse(qualtrics_csv, path, configured)["submitted_at"][0] == ts("2024-07-01 01:00")  # JST = UTC+9


def test_qualtrics_summary_line_mangled_id_and_out_of_range_score(tmp_path):
    lines = [
        NAMES, "question text", import_row(),
        "2024-03-10 08:00:00,2024-03-10 08:01:00,2024-03-10 08:01:00,R_ok,,email,9,4,ok",  # 4
        "2024-03-10 09:00:00,2024-03-10 09:01:00,2024-03-10 09:01:00,5.70306E+17,,email,8,4,",  # 5
        "2024-03-10 10:00:00,2024-03-10 10:01:00,2024-03-10 10:01:00,R_11,,email,11,4,",  # 6
        "Total responses,3",  # 7
    ]
    df = parse(qualtrics_csv, write(tmp_path, "summary.csv", lines), SURVEY)

    assert values(df["_line"]) == [4, 5, 6, 7]
    errors = values(df["_parse_error"])
    assert errors[0] is None
    assert "Excel-mangled" in errors[1]
    assert errors[2] is None and df["nps"][2] == 11.0  # in range or not is validation's call
    assert errors[3] == "expected 9 columns, found 2"
    assert json.loads(df["_raw"][3]) == {"StartDate": "Total responses", "EndDate": "3"}
    assert df["submitted_at"][0] == ts("2024-03-10 08:01")  # GMT in March before the switch


@pytest.mark.parametrize(
    ("lines", "bom"),
    [([], False), ([], True), ([NAMES, "question text", import_row()], True), ([NAMES, "question text"], False)],
    ids=["empty", "bom-only", "header-only", "legacy-header-only"],
)
def test_qualtrics_empty_and_header_only_files_yield_nothing(tmp_path, lines, bom):
    path = tmp_path / "empty.csv"
    path.write_bytes((("\ufeff" if bom else "") + "\r\n".join(lines)).encode())
    assert list(qualtrics_csv.read(path, SURVEY, LONDON)) == []


def test_qualtrics_missing_mapped_column_names_file_and_column(tmp_path):
    lines = [NAMES.replace(",Q1,", ",Q1_renamed,"), "q", "2024-07-01 10:00:00,,2024-07-01 10:00:00,R_1,,email,9,5,"]
    path = write(tmp_path, "renamed.csv", lines)
    with pytest.raises(SourceError, match=r"renamed\.csv: missing column 'Q1' \(nps\)"):
        list(qualtrics_csv.read(path, SURVEY, LONDON))


def test_qualtrics_missing_response_id_column_is_an_error_even_without_fields(tmp_path):
    path = write(tmp_path, "noid.csv", [NAMES.replace("ResponseId", "ResponseID"), "q", import_row()])
    plain = SourceConfig(name="nps", family="survey", format="qualtrics_csv", path="unused")
    with pytest.raises(SourceError, match=r"noid\.csv: missing column 'ResponseId' \(response_id\)"):
        list(qualtrics_csv.read(path, plain, LONDON))


def test_qualtrics_column_found_by_import_id_when_the_question_is_renamed(tmp_path):
    lines = [NAMES.replace(",Q1,", ",NPS score,"), "q", import_row(),
             "2024-07-01 10:00:00,,2024-07-01 10:00:00,R_1,,email,9,5,"]
    by_id = SourceConfig(name="nps", family="survey", format="qualtrics_csv", path="unused", fields={"nps": "QID1"})
    df = parse(qualtrics_csv, write(tmp_path, "qid.csv", lines), by_id)
    assert values(df["nps"]) == [9.0]


def test_qualtrics_streams_in_bounded_batches(tmp_path, monkeypatch):
    rows = [f"2024-07-01 10:00:00,,2024-07-01 10:0{i}:00,R_{i},,email,{i},3," for i in range(5)]
    path = write(tmp_path, "five.csv", [NAMES, "q", import_row(), *rows])
    monkeypatch.setattr(base, "BATCH_ROWS", 2)
    batches = list(qualtrics_csv.read(path, SURVEY, LONDON))
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [values(b["_line"]) for b in batches] == [[4, 5], [6, 7], [8]]


# -- Trustpilot ------------------------------------------------------------------------------------

REVIEWS_SOURCE = SourceConfig(name="trustpilot", family="review", format="trustpilot_json", path="unused")
REVIEWS = [
    {
        "id": "663a1f0e9c1d2b0012a4b5c6",
        "consumer": {"id": "c1", "displayName": "Sarah K"},
        "businessUnit": {"id": "bu1"},
        "stars": 2,
        "title": "Slow &amp; rude",
        "text": "Engineer &#39;forgot&#39; &lt;b&gt;twice&lt;/b&gt; &amp; nobody called",
        "language": "en",
        "location": {"id": "l1", "name": "Leeds"},
        "tags": [{"group": "campaign", "value": "spring"}, {"group": "product", "value": "TV & Sport Bundle"}],
        "createdAt": "2024-05-01T09:30:00Z",
        "updatedAt": None,
        "reply": {"message": "Sorry Sarah &amp; thanks for telling us", "createdAt": "2024-05-02T08:00:00.000Z"},
        "status": "active",
        "verificationLevel": "verified",
    },
    {
        "id": "663a1f0e9c1d2b0012a4b5c7",
        "consumer": {"id": "c2", "displayName": "Tom"},
        "stars": 5,
        "title": "Great",
        "text": "Quick install 👍",
        "language": "en-GB",
        "createdAt": "2024-05-01T23:59:59+01:00",
        "updatedAt": None,
        "reply": None,
    },
]


def test_trustpilot_array_roles_entities_and_raw(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(REVIEWS, ensure_ascii=False), encoding="utf-8")
    df = parse(trustpilot_json, path, REVIEWS_SOURCE)

    assert list(df.columns) == [*SCHEMA["review"], *META]
    assert values(df["_line"]) == [1, 2]
    assert values(df["review_id"]) == ["663a1f0e9c1d2b0012a4b5c6", "663a1f0e9c1d2b0012a4b5c7"]
    assert values(df["rating"]) == [2.0, 5.0]
    assert values(df["title"]) == ["Slow & rude", "Great"]
    assert df["body"][0] == "Engineer 'forgot' <b>twice</b> & nobody called"  # unescaped, markup kept as text
    assert df["body"][1] == "Quick install 👍"
    assert values(df["author"]) == ["Sarah K", "Tom"]
    assert values(df["language"]) == ["en", "en-GB"]
    assert values(df["created_at"]) == [ts("2024-05-01 09:30"), ts("2024-05-01 22:59:59")]
    assert values(df["updated_at"]) == [None, None]
    assert values(df["reply_text"]) == ["Sorry Sarah & thanks for telling us", None]
    assert values(df["reply_at"]) == [ts("2024-05-02 08:00"), None]
    assert values(df["product"]) == ["TV & Sport Bundle", None]
    assert values(df["location"]) == ["Leeds", None]
    assert df["url"][0] == "https://www.trustpilot.com/reviews/663a1f0e9c1d2b0012a4b5c6"
    assert values(df["_parse_error"]) == [None, None]
    assert json.loads(df["_raw"][0]) == REVIEWS[0] and "&amp;" in df["_raw"][0]  # entities as delivered


def test_trustpilot_api_page_with_an_edited_review_keeps_both_versions(tmp_path):
    original = {"id": "r1", "stars": 1, "title": "Awful", "text": "No broadband for a week",
                "createdAt": "2024-05-01T10:00:00Z", "updatedAt": None}
    edited = {**original, "stars": 4, "text": "UPDATE: fixed the next day, thanks",
              "updatedAt": "2024-05-03T10:00:00Z"}
    page = {"reviews": [original, edited],
            "links": [{"href": "https://api.example/v1/reviews?page=2", "method": "GET", "rel": "next-page"}]}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    df = parse(trustpilot_json, path, REVIEWS_SOURCE)

    assert values(df["review_id"]) == ["r1", "r1"]
    assert values(df["_line"]) == [1, 2]
    assert values(df["rating"]) == [1.0, 4.0]
    assert values(df["updated_at"]) == [None, ts("2024-05-03 10:00")]
    assert df["body"][1] == "UPDATE: fixed the next day, thanks"


def test_trustpilot_invalid_json_names_file_and_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n{"id": "a", "stars": 5},\n{"id": "b" "stars": 4}\n]', encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken\.json: invalid JSON at line 3 column 12 .*Expecting ','"):
        list(trustpilot_json.read(path, REVIEWS_SOURCE, LONDON))


def test_trustpilot_object_without_reviews_is_an_error(tmp_path):
    path = tmp_path / "error.json"
    path.write_text('{"message": "Too many requests"}', encoding="utf-8")
    with pytest.raises(SourceError, match=r"error\.json: expected a JSON array or an object with a .reviews. list"):
        list(trustpilot_json.read(path, REVIEWS_SOURCE, LONDON))


def test_trustpilot_bad_records_and_ids(tmp_path):
    path = tmp_path / "ids.json"
    at = '"createdAt": "2024-05-01T10:00:00Z"'
    path.write_text(f'[null, {{"id": 5.70306e+17, "stars": 3, {at}}}, {{"id": 1790000000000000001, "stars": 4, {at}}}]',
                    encoding="utf-8")
    df = parse(trustpilot_json, path, REVIEWS_SOURCE)

    assert values(df["_line"]) == [1, 2, 3]
    errors = values(df["_parse_error"])
    assert errors[0] == "expected a JSON object, got NoneType" and df["_raw"][0] == "null"
    assert "lost its digits" in errors[1]
    assert errors[2] is None and df["review_id"][2] == "1790000000000000001"  # exact, never through float


def test_trustpilot_fields_override_with_dotted_and_selector_paths(tmp_path):
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(REVIEWS[:1]), encoding="utf-8")
    source = SourceConfig(name="tp", family="review", format="trustpilot_json", path="unused",
                          fields={"product": "tags[group=campaign].value", "location": "businessUnit.id",
                                  "url": "consumer.id"})
    df = parse(trustpilot_json, path, source)
    assert (df["product"][0], df["location"][0], df["url"][0]) == ("spring", "bu1", "c1")


def test_trustpilot_empty_file_yields_nothing(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n", encoding="utf-8")
    assert list(trustpilot_json.read(path, REVIEWS_SOURCE, LONDON)) == []


# -- X ---------------------------------------------------------------------------------------------

POSTS_SOURCE = SourceConfig(name="x", family="mention", format="x_jsonl", path="unused")


def post(i: int, **extra) -> dict:
    return {"id": f"179000000000000000{i}", "text": f"post {i} @Acme", "created_at": f"2024-05-01T12:0{i}:00.000Z",
            "author_id": f"22449949{i}", "lang": "en", "conversation_id": f"179000000000000000{i}",
            "public_metrics": {"retweet_count": i, "reply_count": 0, "like_count": 10 * i, "quote_count": 0},
            "edit_history_tweet_ids": [f"179000000000000000{i}"], **extra}


FIRST = post(1, text="Fibre &amp; TV from @Acme is 🔥 &lt;3")
TRUNCATED = '{"id": "1790000000000000002", "text": "cut off mid'
X_LINES = [
    "\ufeff" + json.dumps(FIRST, ensure_ascii=False),  # 1
    "",  # 2: blank
    TRUNCATED,  # 3
    json.dumps({"data": [post(3), post(4)], "includes": {"users": [{"id": "224499493", "username": "ann"}]},
                "meta": {"result_count": 2, "next_token": "b26v89c19zqg8o3fo7gghep0wmpt92c0wn0jiqwtc7tdp"}}),  # 4
    json.dumps(post(5, in_reply_to_user_id="783214",
                    referenced_tweets=[{"type": "quoted", "id": "1789999999999999000"},
                                       {"type": "replied_to", "id": "1789999999999999999"}])),  # 5
    json.dumps(post(6, referenced_tweets=[{"type": "replied_to", "id": "1789999999999999998"}])),  # 6
    json.dumps({"meta": {"result_count": 0}}),  # 7: an empty search page
]


def test_x_bare_wrapped_broken_and_reply_lines(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes("\r\n".join(X_LINES).encode("utf-8") + b"\r\n")
    df = parse(x_jsonl, path, POSTS_SOURCE)

    assert list(df.columns) == [*SCHEMA["mention"], *META]
    assert values(df["_line"]) == [1, 3, 4, 4, 5, 6]
    assert values(df["mention_id"]) == ["1790000000000000001", None, "1790000000000000003", "1790000000000000004",
                                        "1790000000000000005", "1790000000000000006"]
    assert df["text"][0] == "Fibre & TV from @Acme is 🔥 <3"
    assert (df["likes"][0], df["shares"][0], df["replies"][0]) == (10.0, 1.0, 0.0)
    assert df["author"][0] == "224499491" and df["language"][0] == "en"
    assert df["created_at"][0] == ts("2024-05-01 12:01")
    assert df["url"][0] == "https://x.com/i/web/status/1790000000000000001"
    assert json.loads(df["_raw"][0]) == FIRST

    # the string value opens at column 39: `{"id": ` is 7 characters, the quoted id 21, `, "text": ` 10
    assert df["_parse_error"][1] == "invalid JSON: Unterminated string starting at at col 39"
    assert df["_raw"][1] == TRUNCATED
    assert values(df["_parse_error"][2:]) == [None] * 4

    assert values(df["in_reply_to"]) == [None, None, None, None, "783214", "1789999999999999998"]


def test_x_ids_stay_exact_strings_and_lost_digits_are_errors(tmp_path):
    path = tmp_path / "ids.jsonl"
    lines = ['{"id": 1790000000000000007, "text": "numeric id", "created_at": "2024-05-01T12:00:00Z"}',
             '{"id": "1.79E+18", "text": "opened in Excel", "created_at": "2024-05-01T12:00:00Z"}',
             "[1, 2]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    df = parse(x_jsonl, path, POSTS_SOURCE)

    assert df["mention_id"][0] == "1790000000000000007" and pd.isna(df["_parse_error"][0])
    assert "lost its digits" in df["_parse_error"][1]
    assert df["_parse_error"][2] == "expected a JSON object, got list"


def test_x_broken_line_raw_is_cut_to_ten_thousand_characters(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text('{"text": "' + "x" * 20_000 + "\n", encoding="utf-8")
    df = parse(x_jsonl, path, POSTS_SOURCE)
    assert len(df) == 1 and len(df["_raw"][0]) == 10_000 and df["_parse_error"][0].startswith("invalid JSON")


def test_x_streams_in_bounded_batches_even_inside_a_search_page(tmp_path, monkeypatch):
    path = tmp_path / "page.jsonl"
    page = json.dumps({"data": [post(1), post(2), post(3)], "meta": {"result_count": 3}})
    path.write_text(page + "\n" + json.dumps(post(4)) + "\n", encoding="utf-8")
    monkeypatch.setattr(base, "BATCH_ROWS", 2)
    batches = list(x_jsonl.read(path, POSTS_SOURCE, LONDON))
    assert [values(b["_line"]) for b in batches] == [[1, 1], [1, 2]]


def test_x_fields_override_defaults(tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_text(json.dumps(post(1, in_reply_to_user_id="783214")) + "\n", encoding="utf-8")
    source = SourceConfig(name="x", family="mention", format="x_jsonl", path="unused",
                          fields={"in_reply_to": "conversation_id", "likes": "public_metrics.retweet_count"})
    df = parse(x_jsonl, path, source)
    assert (df["in_reply_to"][0], df["likes"][0]) == ("1790000000000000001", 1.0)


def test_dotted_paths_through_odd_shapes_give_null_or_the_value_found(tmp_path):
    """A path of plain keys stops at the first step that is missing or not an object; a digit steps
    into a list, an object's digit key is read as a key, and booleans are not numbers."""
    shapes = [
        {"public_metrics": None},
        {"public_metrics": [5, 6]},
        {"public_metrics": "7"},
        {"public_metrics": {"like_count": "12 likes", "reply_count": True}},
        {"public_metrics": {"like_count": 3, "reply_count": 2.5}, "entities": {"0": "zero"}},
        {"entities": [{"tag": "a"}, {"tag": "b"}]},
    ]
    at = '"created_at": "2024-05-01T12:00:00Z"'
    path = tmp_path / "shapes.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": "t", **shape})[:-1] + f", {at}}}\n"
                            for i, shape in enumerate(shapes)), encoding="utf-8")
    source = SourceConfig(name="x", family="mention", format="x_jsonl", path="unused",
                          fields={"likes": "public_metrics.like_count", "replies": "public_metrics.reply_count",
                                  "language": "entities.0", "in_reply_to": "entities.1.tag"})
    df = parse(x_jsonl, path, source)

    assert values(df["likes"]) == [None, None, None, 12.0, 3.0, None]  # a number written as text is read
    assert values(df["replies"]) == [None, None, None, None, 2.5, None]  # True is no number
    assert values(df["language"]) == [None, None, None, None, "zero", '{"tag":"a"}']
    assert values(df["in_reply_to"]) == [None, None, None, None, None, "b"]
    assert values(df["_parse_error"]) == [None] * 6


def test_only_ids_written_with_an_exponent_count_as_mangled():
    assert [records.id_problem(v) is not None for v in ("1.79E+18", "5e17", " 12e3 ", 5.0, "123", "e12", "1e", 7)] \
        == [True, True, True, True, False, False, False, False]


def test_json_records_beyond_the_fast_codec_parse_and_serialise_exactly():
    big = 123456789012345678901234567890  # beyond 64 bits: orjson refuses it both ways
    record = parse_json(f'{{"id": {big}, "score": NaN, "b": "ü", "a": [1, 2.5]}}')
    assert record["id"] == big and record["score"] != record["score"]  # NaN
    assert to_json({"id": big, "b": "ü"}) == f'{{"b":"ü","id":{big}}}'
    assert to_json({"b": "ü", "a": [1, 2.5]}) == '{"a":[1,2.5],"b":"ü"}'  # compact, keys sorted, not escaped
    with pytest.raises(json.JSONDecodeError, match="line 1 column 10"):
        parse_json('{"id": 1,,}')

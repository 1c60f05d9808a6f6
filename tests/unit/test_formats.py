"""Every built-in format beyond the first three, on small vendor files written here, realistic and broken.

Expected values are worked out by hand from the fixture text (offsets noted where they matter).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.sources import FORMATS, from_records, get_parser
from pipelines.sources.base import META, SCHEMA, Drift

LONDON = ZoneInfo("Europe/London")


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def values(series: pd.Series) -> list:
    return [None if pd.isna(x) else x for x in series]


def src(fmt: str, family: str, fields: dict | None = None, **options) -> SourceConfig:
    return SourceConfig(name="s", family=family, format=fmt, path="unused", fields=fields or {}, options=options)


def parse(source: SourceConfig, path: Path, tz: ZoneInfo = LONDON, drift: list | None = None) -> pd.DataFrame:
    batches = list(get_parser(source.format)(path, source, tz, drift))
    df = pd.concat(batches, ignore_index=True) if batches else pd.DataFrame()
    if batches:
        assert list(df.columns) == [*SCHEMA[source.family], *META]
    return df


def put(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


# -- SurveyMonkey -------------------------------------------------------------------------------------

NPS_Q = "How likely is it that you would recommend Acme to a friend or colleague?"
WHY_Q = "What is the main reason for your score?"
SM_FIELDS = {"nps": NPS_Q, "comment": WHY_Q, "product": "Which products do you use? - Broadband"}
SM_ROW1 = ("Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,"
           f'Custom Data 1,"{NPS_Q}",{WHY_Q},Which products do you use?,')
SM_ROW2 = ",,,,,,,,,Response,Open-Ended Response,Broadband,Mobile"
SM_DATA = [
    '114215498741,404512345,03/01/2024 10:00:01 AM,03/01/2024 10:02:11 AM,192.0.2.1,ann@example.com,Ann,Lee,,'
    '10,"Fast, and friendly",Broadband,',  # 3
    '114215498742,404512345,03/01/2024 11:59:00 PM,03/02/2024 12:01:30 AM,192.0.2.2,,,,,'
    '"0 - Not at all likely","Line one\r\nline two",,Mobile',  # 4-5
]


def test_surveymonkey_two_header_rows_sub_columns_and_12_hour_dates(tmp_path):
    path = put(tmp_path, "sm.csv", "\r\n".join([SM_ROW1, SM_ROW2, *SM_DATA]) + "\r\n")
    drift: list[Drift] = []
    df = parse(src("surveymonkey_csv", "survey", SM_FIELDS), path, drift=drift)

    assert values(df["_line"]) == [3, 4]
    assert values(df["response_id"]) == ["114215498741", "114215498742"]
    # London is on GMT in March: local time is UTC; 12:01:30 AM is just after midnight
    assert values(df["submitted_at"]) == [ts("2024-03-01 10:02:11"), ts("2024-03-02 00:01:30")]
    assert values(df["nps"]) == [10.0, 0.0]
    assert values(df["comment"]) == ["Fast, and friendly", "Line one\r\nline two"]
    assert values(df["product"]) == ["Broadband", None]
    assert values(df["respondent"]) == ["ann@example.com", None]
    assert drift == []  # Custom Data 1 is optional, the questions are the survey's own


def test_surveymonkey_without_row_two_reads_the_first_row_as_data(tmp_path):
    header = SM_ROW1.rsplit(",", 2)[0]  # no product columns
    row = SM_DATA[0].rsplit(",", 2)[0]
    path = put(tmp_path, "sm.csv", f"{header}\n{row}\n")
    df = parse(src("surveymonkey_csv", "survey", {"nps": NPS_Q}), path)
    assert values(df["_line"]) == [2] and values(df["nps"]) == [10.0]


def test_surveymonkey_xlsx_export(tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(SM_ROW1.split(",")[:9] + [NPS_Q, WHY_Q])
    sheet.append([None] * 9 + ["Response", "Open-Ended Response"])
    sheet.append([114215498741.0, 404512345, datetime(2024, 7, 1, 9, 0), datetime(2024, 7, 1, 9, 5, 30), "192.0.2.1",
                  "ann@example.com", "Ann", "Lee", None, 9, "Grand 👍"])
    path = tmp_path / "sm.xlsx"
    book.save(path)
    df = parse(src("surveymonkey_csv", "survey", {"nps": NPS_Q, "comment": WHY_Q}), path)
    assert values(df["response_id"]) == ["114215498741"]  # Excel's float id back to its digits
    assert values(df["submitted_at"]) == [ts("2024-07-01 08:05:30")]  # BST = UTC+1
    assert values(df["nps"]) == [9.0] and values(df["comment"]) == ["Grand 👍"]


def test_surveymonkey_missing_mapped_question_names_file_and_column(tmp_path):
    path = put(tmp_path, "sm.csv", "\r\n".join([SM_ROW1.replace(WHY_Q, "Why?"), SM_ROW2, *SM_DATA]))
    with pytest.raises(SourceError, match=r"sm\.csv: missing column 'What is the main reason for your score\?'"):
        parse(src("surveymonkey_csv", "survey", SM_FIELDS), path)


# -- Typeform ------------------------------------------------------------------------------------------

TYPEFORM_PAGE = {
    "total_items": 2, "page_count": 1,
    "items": [
        {"landing_id": "l1", "token": "a1b2c3", "response_id": "a1b2c3", "landed_at": "2024-05-01T09:00:00Z",
         "submitted_at": "2024-05-01T09:03:10Z", "metadata": {"platform": "mobile", "referer": "https://x"},
         "hidden": {"customer_id": "C-77"}, "calculated": {"score": 0},
         "answers": [
             {"field": {"id": "Zx1", "ref": "nps_q", "type": "nps"}, "type": "number", "number": 9},
             {"field": {"id": "Zx2", "ref": "why", "type": "long_text"}, "type": "text",
              "text": "Quick &amp; easy"},
             {"field": {"id": "Zx3", "ref": "product", "type": "multiple_choice"}, "type": "choice",
              "choice": {"label": "Full Fibre 900"}},
             {"field": {"id": "Zx4", "ref": "sat", "type": "rating"}, "type": "number", "number": 4},
         ]},
        {"landing_id": "l2", "token": "d4e5f6", "landed_at": "2024-05-01T10:00:00Z",
         "submitted_at": "2024-05-01T10:01:00Z", "metadata": {"platform": "other"}, "hidden": {},
         "answers": [{"field": {"id": "Zx1", "ref": "nps_q", "type": "nps"}, "type": "number", "number": 3}]},
    ],
}


def test_typeform_answers_by_type_by_ref_and_by_path(tmp_path):
    path = put(tmp_path, "tf.json", json.dumps(TYPEFORM_PAGE))
    default = parse(src("typeform_json", "survey"), path)
    assert values(default["response_id"]) == ["a1b2c3", "d4e5f6"]
    assert values(default["nps"]) == [9.0, 3.0]
    assert values(default["csat"]) == [4.0, None]
    assert values(default["comment"]) == ["Quick & easy", None]
    assert values(default["respondent"]) == ["C-77", None] and values(default["channel"]) == ["mobile", "other"]
    assert values(default["submitted_at"]) == [ts("2024-05-01 09:03:10"), ts("2024-05-01 10:01")]

    mapped = parse(src("typeform_json", "survey", {"product": "product", "location": "metadata.referer"}), path)
    assert values(mapped["product"]) == ["Full Fibre 900", None]
    assert values(mapped["location"]) == ["https://x", None]


def test_typeform_truncated_page_is_an_error_naming_the_file(tmp_path):
    path = put(tmp_path, "tf.json", json.dumps(TYPEFORM_PAGE)[:300])
    with pytest.raises(SourceError, match=r"tf\.json: invalid JSON at line 1"):
        parse(src("typeform_json", "survey"), path)


# -- Google Play ---------------------------------------------------------------------------------------

PLAY_HEADER = ",".join([
    "Package Name", "App Version Code", "App Version Name", "Reviewer Language", "Device",
    "Review Submit Date and Time", "Review Submit Millis Since Epoch", "Review Last Update Date and Time",
    "Review Last Update Millis Since Epoch", "Star Rating", "Review Title", "Review Text",
    "Developer Reply Date and Time", "Developer Reply Millis Since Epoch", "Developer Reply Text", "Review Link",
])
PLAY_ROWS = [
    "com.acme.app,412,4.1.2,en,a53x,2024-03-01T10:02:11Z,1709287331000,2024-03-01T10:02:11Z,1709287331000,2,,"
    '"Crashes on login, every time 😡",2024-03-02T08:00:00Z,1709366400000,"Sorry, fixed in 4.1.3",'
    "http://play.google.com/console/developers/1/app/2/user-feedback/review-details?reviewId=gp:AOqpTOF1&corpus=PUBLIC_REVIEWS",
    "com.acme.app,412,4.1.2,de,starlte,2024-03-01T11:00:00Z,1709290800000,2024-03-01T11:00:00Z,1709290800000,5,,,,,,",
]


def test_google_play_utf16_with_bom_reply_and_a_review_without_text(tmp_path):
    path = put(tmp_path, "reviews_com.acme.app_202403.csv", "\n".join([PLAY_HEADER, *PLAY_ROWS]) + "\n", "utf-16")
    assert path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    drift: list[Drift] = []
    df = parse(src("google_play_csv", "review"), path, drift=drift)

    assert drift == []
    assert values(df["rating"]) == [2.0, 5.0]
    assert values(df["body"]) == ["Crashes on login, every time 😡", None]
    assert values(df["created_at"]) == [ts("2024-03-01 10:02:11"), ts("2024-03-01 11:00")]
    assert values(df["reply_at"]) == [ts("2024-03-02 08:00"), None]
    assert values(df["reply_text"]) == ["Sorry, fixed in 4.1.3", None]
    assert values(df["language"]) == ["en", "de"] and values(df["product"]) == ["com.acme.app"] * 2
    assert values(df["location"]) == [None, None]  # a device model is not a location
    assert df["review_id"][0] == "gp:AOqpTOF1"  # from the link
    assert df["review_id"][1].startswith("h_")  # no link: a stable hash
    again = parse(src("google_play_csv", "review"), path)
    assert values(again["review_id"]) == values(df["review_id"])


def test_google_play_older_header_is_a_logged_rename_and_a_missing_column(tmp_path):
    header = PLAY_HEADER.replace("Review Link", "Review URL").replace(",App Version Code", "")
    rows = [r.replace("com.acme.app,412,", "com.acme.app,") for r in PLAY_ROWS]
    path = put(tmp_path, "old.csv", "\n".join([header, *rows]), "utf-16")
    drift: list[Drift] = []
    df = parse(src("google_play_csv", "review"), path, drift=drift)
    assert df["review_id"][0] == "gp:AOqpTOF1"
    assert {(d.change, d.column) for d in drift} == {("renamed", "Review Link"), ("missing", "App Version Code")}


def test_google_play_without_star_rating_fails_naming_the_column(tmp_path):
    path = put(tmp_path, "bad.csv", PLAY_HEADER.replace("Star Rating", "Stars") + "\n", "utf-16")
    with pytest.raises(SourceError, match=r"bad\.csv: missing column 'Star Rating' \(rating\)"):
        parse(src("google_play_csv", "review"), path)


# -- App Store -----------------------------------------------------------------------------------------

APP_PAGE = {
    "data": [
        {"type": "customerReviews", "id": "00000071-ab3c",
         "attributes": {"rating": 1, "title": "Keeps logging me out", "body": "Since 4.1 &amp; still broken",
                        "reviewerNickname": "jb_1979", "createdDate": "2024-03-01T09:15:00-08:00",
                        "territory": "USA"},
         "relationships": {"response": {"data": {"type": "customerReviewResponses", "id": "r-1"}}}},
        {"type": "customerReviews", "id": "00000071-ab3d",
         "attributes": {"rating": 5, "title": "Love it", "body": "Best app", "reviewerNickname": "mo",
                        "createdDate": "2024-03-01T18:00:00+01:00", "territory": "GBR"},
         "relationships": {"response": {"data": {"type": "customerReviewResponses", "id": "r-2"}}}},
    ],
    "included": [
        {"type": "customerReviewResponses", "id": "r-1",
         "attributes": {"responseBody": "Fixed in 4.2", "lastModifiedDate": "2024-03-02T10:00:00-08:00",
                        "state": "PUBLISHED"}},
        {"type": "customerReviewResponses", "id": "r-2",
         "attributes": {"responseBody": "Thanks!", "lastModifiedDate": "2024-03-02T10:00:00Z",
                        "state": "PENDING_PUBLISH"}},
    ],
    "links": {"self": "https://api.appstoreconnect.apple.com/v1/apps/1/customerReviews",
              "next": "https://api.appstoreconnect.apple.com/v1/apps/1/customerReviews?cursor=Mg"},
}


def test_app_store_offsets_territory_and_published_responses_only(tmp_path):
    path = put(tmp_path, "app.json", json.dumps(APP_PAGE))
    df = parse(src("app_store_json", "review"), path)
    assert values(df["review_id"]) == ["00000071-ab3c", "00000071-ab3d"]
    # -08:00: 09:15 is 17:15 UTC; +01:00: 18:00 is 17:00 UTC
    assert values(df["created_at"]) == [ts("2024-03-01 17:15"), ts("2024-03-01 17:00")]
    assert values(df["body"]) == ["Since 4.1 & still broken", "Best app"]
    assert values(df["location"]) == ["USA", "GBR"] and values(df["author"]) == ["jb_1979", "mo"]
    assert values(df["reply_text"]) == ["Fixed in 4.2", None]  # the second is still pending
    assert values(df["reply_at"]) == [ts("2024-03-02 18:00"), None]


def test_app_store_pages_from_an_api_go_through_the_same_mapping():
    source = src("app_store_json", "review")
    df = pd.concat(list(from_records(source, [APP_PAGE], LONDON, origin="https://api.example/reviews?p=1")))
    assert values(df["reply_text"]) == ["Fixed in 4.2", None]
    assert set(df["_file"]) == {"https://api.example/reviews?p=1"}


def test_app_store_error_object_is_refused(tmp_path):
    path = put(tmp_path, "err.json", json.dumps({"errors": [{"status": "429"}]}))
    with pytest.raises(SourceError, match=r"err\.json: expected a customerReviews page"):
        parse(src("app_store_json", "review"), path)


# -- Google Business Profile ---------------------------------------------------------------------------

GBP_PAGE = {
    "reviews": [
        {"name": "accounts/1/locations/987/reviews/AbC", "reviewId": "AbC",
         "reviewer": {"displayName": "Priya S", "isAnonymous": False}, "starRating": "FOUR",
         "comment": "(Translated by Google) Very good service\n\n(Original)\nServicio muy bueno",
         "createTime": "2024-03-01T10:00:00.123456Z", "updateTime": "2024-03-01T10:00:00.123456Z",
         "reviewReply": {"comment": "Gracias", "updateTime": "2024-03-03T09:00:00Z"}},
        {"name": "accounts/1/locations/987/reviews/DeF", "reviewId": "DeF",
         "reviewer": {"displayName": "A Google User", "isAnonymous": True}, "starRating": "STAR_RATING_UNSPECIFIED",
         "createTime": "2024-03-01T11:00:00Z", "updateTime": "2024-03-01T11:00:00Z"},
    ],
    "averageRating": 4.2, "totalReviewCount": 2, "nextPageToken": "tok",
}


def test_google_business_star_enum_translation_anonymous_and_location(tmp_path):
    path = put(tmp_path, "gbp.json", json.dumps(GBP_PAGE))
    df = parse(src("google_business_json", "review"), path)
    assert values(df["rating"]) == [4.0, None]
    assert df["_parse_error"][1] == "starRating 'STAR_RATING_UNSPECIFIED' is not ONE … FIVE"
    assert pd.isna(df["_parse_error"][0])
    assert values(df["body"]) == ["Servicio muy bueno", None]
    assert values(df["author"]) == ["Priya S", None]
    assert values(df["location"]) == ["987", "987"]
    assert values(df["reply_at"]) == [ts("2024-03-03 09:00"), None]
    assert df["created_at"][0] == ts("2024-03-01 10:00:00.123456")


# -- Yelp ----------------------------------------------------------------------------------------------

def test_yelp_pacific_time_without_offset_and_float_ratings(tmp_path):
    page = {"reviews": [
        {"id": "xAG4O7l-t1ubbwVAlPnDKg", "url": "https://www.yelp.com/biz/acme?hrid=xAG4O7l",
         "text": "Went back again &amp; again...", "rating": 4.0, "time_created": "2026-04-18 19:32:11",
         "user": {"id": "W8UK02IDdRS2GL_66fuq6w", "profile_url": "https://www.yelp.com/user_details?userid=W8",
                  "image_url": None, "name": "Ella A."}},
        {"id": "y2", "url": "https://www.yelp.com/biz/acme?hrid=y2", "text": "Meh", "rating": 2.5,
         "time_created": "2026-01-10 08:00:00", "user": {"id": "u2", "name": "Bo"}},
    ], "total": 2, "possible_languages": ["en"]}
    path = put(tmp_path, "yelp.json", json.dumps(page))
    df = parse(src("yelp_json", "review", location="Leeds"), path)
    # April is PDT (UTC-7): 19:32 is 02:32 UTC the next day; January is PST (UTC-8)
    assert values(df["created_at"]) == [ts("2026-04-19 02:32:11"), ts("2026-01-10 16:00")]
    assert values(df["rating"]) == [4.0, 2.5]
    assert values(df["body"]) == ["Went back again & again...", "Meh"]
    assert values(df["author"]) == ["Ella A.", "Bo"] and values(df["location"]) == ["Leeds", "Leeds"]


# -- Reddit --------------------------------------------------------------------------------------------

def test_reddit_posts_comments_listing_deleted_and_removed(tmp_path):
    lines = [
        {"kind": "t3", "data": {"id": "1b2c3d", "name": "t3_1b2c3d", "author": "fibre_fan", "title": "Acme outage?",
                                "selftext": "Anyone else &gt; 2 hours down?", "created_utc": 1709287331.0,
                                "score": 42, "num_comments": 7, "subreddit": "uktelecoms",
                                "permalink": "/r/uktelecoms/comments/1b2c3d/acme_outage/"}},
        {"kind": "t1", "data": {"id": "kq1", "name": "t1_kq1", "author": "[deleted]", "body": "Same in Leeds",
                                "created_utc": 1709287400.5, "score": 3, "link_id": "t3_1b2c3d",
                                "parent_id": "t3_1b2c3d", "permalink": "/r/uktelecoms/comments/1b2c3d/_/kq1/"}},
        {"kind": "Listing", "data": {"children": [
            {"kind": "t1", "data": {"id": "kq2", "name": "t1_kq2", "author": "[deleted]", "body": "[removed]",
                                    "created_utc": 1709287500, "score": 1, "parent_id": "t1_kq1"}}]}},
        {"kind": "t1", "data": {"name": "t1_kq3", "body": "odd clock", "created_utc": "31/02/2024 25:61"}},
    ]
    path = put(tmp_path, "reddit.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    df = parse(src("reddit_jsonl", "mention"), path)
    assert pd.isna(df["created_at"][3])  # text is never read as epoch seconds (31 s after 1970)
    df = df[:3]
    assert values(df["mention_id"]) == ["t3_1b2c3d", "t1_kq1", "t1_kq2"]
    assert values(df["text"]) == ["Acme outage?\n\nAnyone else > 2 hours down?", "Same in Leeds", None]
    # 1709287331 s is 2024-03-01 10:02:11 UTC
    assert values(df["created_at"]) == [ts("2024-03-01 10:02:11"), ts("2024-03-01 10:03:20.5"),
                                        ts("2024-03-01 10:05")]
    assert values(df["author"]) == ["fibre_fan", None, None]
    assert values(df["likes"]) == [42.0, 3.0, 1.0] and values(df["replies"]) == [7.0, None, None]
    assert values(df["in_reply_to"]) == [None, "t3_1b2c3d", "t1_kq1"]
    assert df["url"][0] == "https://www.reddit.com/r/uktelecoms/comments/1b2c3d/acme_outage/"
    assert values(df["_parse_error"]) == [None, None, "t1 t1_kq2: text was removed"]
    assert values(df["_line"]) == [1, 2, 3]


# -- generic csv / json / jsonl ------------------------------------------------------------------------

def test_generic_tsv_with_title_row_text_ratings_scale_and_date_format(tmp_path):
    text = ("Amazon Alexa reviews export\n"
            "rating\tdate\tvariation\tverified_reviews\n"
            "8/10\t31-Jul-18\tCharcoal Fabric\tLove my Echo!\n"
            "\"4,0 stars\"\t30-Jul-18\tWalnut Finish\t\"Loved it &amp; the\nsound\"\n"
            "ten\t29-Jul-18\tOak\tno number\n")
    path = put(tmp_path, "alexa.tsv", text, "utf-8-sig")
    source = src("csv", "review", {"rating": "rating", "created_at": "date", "body": "verified_reviews",
                                   "product": "variation"},
                 delimiter="\t", header_row=1, date_format="%d-%b-%y", timezone="America/New_York",
                 scale={"min": 0, "max": 10})
    df = parse(source, path)
    assert values(df["_line"]) == [3, 4, 6]
    # 0–10 onto 1–5: 1 + x * 4 / 10, so 8 -> 4.2 and 4 -> 2.6; "ten" has no number
    assert values(df["rating"]) == [pytest.approx(4.2), pytest.approx(2.6), None]
    assert values(df["created_at"]) == [ts("2018-07-31 04:00"), ts("2018-07-30 04:00"), ts("2018-07-29 04:00")]
    assert df["body"][1] == "Loved it &amp; the\nsound"  # CSV text is kept as written
    ids = values(df["review_id"])
    assert all(i.startswith("h_") for i in ids) and len(set(ids)) == 3
    assert values(parse(source, path)["review_id"]) == ids  # deterministic


def test_generic_csv_ids_without_an_id_column_hash_source_title_body_and_time(tmp_path):
    # the id of an item without one must never change: a reload would store the item twice
    path = put(tmp_path, "r.csv", "title,body,at\nGreat  Shop,Fast DELIVERY,2026-03-12T09:30:00Z\n,Only body,"
                                  "2026-03-12T10:00:00Z\nOnly title,,2026-03-12T11:00:00Z\n")
    df = parse(src("csv", "review", {"title": "title", "body": "body", "created_at": "at"}), path)

    def expected(text: str, at: str) -> str:  # source "s", the texts joined, lowered, single-spaced
        return "h_" + hashlib.sha256(f"s\x1f{text}\x1f{at}".encode()).hexdigest()[:24]

    assert values(df["review_id"]) == [expected("great shop fast delivery", "2026-03-12T09:30:00+00:00"),
                                       expected("only body", "2026-03-12T10:00:00+00:00"),
                                       expected("only title", "2026-03-12T11:00:00+00:00")]


def test_generic_csv_latin1_bytes_in_utf8_summary_line_mangled_id_and_formula(tmp_path):
    data = ("id,when,score,comment\r\n"
            "R1,2024-03-01 10:00:00,9,Tr\u00e8s bien\r\n".encode() +
            b"R2,01/03/2024 11:00,7,Caf\xe9 was shut\r\n" +
            b'5.70306E+17,2024-03-01T12:00:00Z,6,"=HYPERLINK(""http://x.example"",""refund"")"\r\n' +
            b"Total,3\r\n")
    path = put(tmp_path, "mixed.csv", data)
    df = parse(src("csv", "survey", {"response_id": "id", "submitted_at": "when", "nps": "score",
                                     "comment": "comment"}), path)
    assert values(df["comment"])[:3] == ["Très bien", "Café was shut", '=HYPERLINK("http://x.example","refund")']
    # three date styles in one file; naive ones are London (GMT in March)
    assert values(df["submitted_at"])[:3] == [ts("2024-03-01 10:00"), ts("2024-01-03 11:00"), ts("2024-03-01 12:00")]
    errors = values(df["_parse_error"])
    assert errors[0] is None and errors[1] is None
    assert "Excel-mangled" in errors[2]
    assert errors[3] == "expected 4 columns, found 2"


def test_generic_csv_missing_mapped_column_names_file_and_column(tmp_path):
    path = put(tmp_path, "x.csv", "id,date\n1,2024-01-01\n")
    with pytest.raises(SourceError, match=r"x\.csv: missing column 'stars' \(rating\)"):
        parse(src("csv", "review", {"review_id": "id", "created_at": "date", "rating": "stars"}), path)


def test_generic_json_nested_records_and_jsonl_with_a_truncated_line(tmp_path):
    doc = {"meta": {"n": 2}, "data": {"reviews": [
        {"ref": 1, "stars": "4 stars", "when": 1709287331, "who": {"name": "Al"}, "text": "ok"},
        {"ref": 2, "stars": "5", "when": 1709290800, "who": {"name": "Bea"}, "text": "great 🎉"},
    ]}}
    source = src("json", "review", {"review_id": "ref", "rating": "stars", "created_at": "when",
                                    "author": "who.name", "body": "text"},
                 records="data.reviews", date_format="unix")
    df = parse(source, put(tmp_path, "r.json", json.dumps(doc)))
    assert values(df["review_id"]) == ["1", "2"] and values(df["rating"]) == [4.0, 5.0]
    assert values(df["created_at"]) == [ts("2024-03-01 10:02:11"), ts("2024-03-01 11:00")]

    lines = [json.dumps(r) for r in doc["data"]["reviews"]] + ['{"ref": 3, "stars": "2", "wh']
    df = parse(SourceConfig(**{**source.__dict__, "format": "jsonl"}), put(tmp_path, "r.jsonl", "\n".join(lines)))
    assert values(df["review_id"]) == ["1", "2", None]
    assert df["_parse_error"][2].startswith("invalid JSON")


def test_json_mapping_that_matches_no_record_fails_naming_the_key(tmp_path):
    path = put(tmp_path, "r.json", json.dumps([{"id": "a", "created": "2024-01-01"}]))
    with pytest.raises(SourceError, match=r"r\.json: missing column 'createdAt' \(created_at\)"):
        parse(src("json", "review", {"review_id": "id", "created_at": "createdAt"}), path)


def test_json_drift_renamed_and_added_keys(tmp_path):
    review = {"id": "r1", "stars": 4, "title": "t", "text": "b", "created_at": "2024-05-01T10:00:00Z",
              "consumer": {"displayName": "X"}, "sentiment": 0.3}
    path = put(tmp_path, "tp.json", json.dumps([review]))
    drift: list[Drift] = []
    source = src("trustpilot_json", "review", {"created_at": "created_at"})  # the mapping absorbs the rename
    df = parse(source, path, drift=drift)
    assert values(df["created_at"]) == [ts("2024-05-01 10:00")]
    assert {(d.change, d.column) for d in drift} == {("renamed", "createdAt"), ("added", "sentiment")}


# -- every format: empty files and very long text ------------------------------------------------------

FORMAT_FAMILY = {
    "qualtrics_csv": "survey", "surveymonkey_csv": "survey", "typeform_json": "survey",
    "trustpilot_json": "review", "google_play_csv": "review", "app_store_json": "review",
    "google_business_json": "review", "yelp_json": "review", "x_jsonl": "mention", "reddit_jsonl": "mention",
    "csv": "review", "json": "review", "jsonl": "review",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_empty_file_yields_nothing_in_every_format(tmp_path, fmt):
    fields = {"review_id": "id", "created_at": "at"} if fmt in ("csv", "json", "jsonl") else {}
    path = put(tmp_path, "empty", b"")
    assert list(get_parser(fmt)(path, src(fmt, FORMAT_FAMILY[fmt], fields), LONDON)) == []


def test_every_format_is_covered_here():
    assert set(FORMAT_FAMILY) == set(FORMATS)


def test_a_five_megabyte_text_field_survives(tmp_path):
    big = "slow " * 1_000_000
    path = put(tmp_path, "big.csv", f'id,at,text\n1,2024-01-01 10:00,"{big}"\n')
    df = parse(src("csv", "mention", {"mention_id": "id", "created_at": "at", "text": "text"}), path)
    assert len(df["text"][0]) == len(big.strip())


def test_json_documents_with_nested_lists_and_truncated_ones(tmp_path):
    page = put(tmp_path, "gbp.json", json.dumps(GBP_PAGE))
    streamed = parse(src("google_business_json", "review"), page)
    assert values(streamed["review_id"]) == ["AbC", "DeF"] and values(streamed["rating"]) == [4.0, None]
    nested = put(tmp_path, "n.json", json.dumps({"meta": {}, "data": {"reviews": [{"ref": 1, "when": "2024-01-01"}]}}))
    df = parse(src("json", "review", {"review_id": "ref", "created_at": "when"}, records="data.reviews"), nested)
    assert values(df["review_id"]) == ["1"]
    truncated = put(tmp_path, "cut.json", json.dumps(GBP_PAGE)[:200])
    with pytest.raises(SourceError, match=r"cut\.json: invalid JSON"):
        parse(src("google_business_json", "review"), truncated)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_file_gone_since_it_was_listed_fails_naming_it(tmp_path, fmt):
    path = tmp_path / "gone.data"
    fields = {"review_id": "id", "created_at": "at"} if fmt in ("csv", "json", "jsonl") else {}
    with pytest.raises(SourceError, match=r"gone\.data: cannot read file: No such file or directory$"):
        parse(src(fmt, FORMAT_FAMILY[fmt], fields), path)


def test_generic_records_from_an_api_page_get_the_same_options():
    source = src("json", "review", {"review_id": "id", "rating": "score", "created_at": "at"},
                 scale={"min": 1, "max": 10})
    page = [{"id": "a", "score": "10/10", "at": "2024-05-01T10:00:00Z"}, {"id": "b", "score": 1, "at": "2024-05-01"}]
    df = pd.concat(list(from_records(source, page, LONDON, origin="https://api.example/page/1", start=101)))
    assert values(df["rating"]) == [5.0, 1.0]  # 1 + (10 - 1) * 4 / 9 = 5; 1 stays 1
    assert values(df["_line"]) == [101, 102]

"""The sample-data generator: deterministic, valid when asked, broken when asked, and realistic."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipelines.config import PROJECT_ROOT, load_config
from pipelines.sample import generate
from pipelines.sources import FORMATS, get_parser
from pipelines.sources.base import TIME_COLUMN
from pipelines.validate import validate_batch

CONFIG = load_config(PROJECT_ROOT / "config" / "sources.yml")
TZ = CONFIG.timezone
START = date(2024, 3, 4)  # a Monday; four whole weeks, ending on the day the clocks go forward
DAYS = [START + timedelta(days=i) for i in range(28)]
STAGES = {"awareness", "consideration", "purchase", "use", "support", "loyalty"}
TOUCHPOINTS = {"web", "app", "store", "delivery", "support", "social"}


def read_days(landing: Path, days: list[date]) -> dict[str, pd.DataFrame]:
    """Every source of the example config over `days`, with the business day of each file."""
    frames: dict[str, list[pd.DataFrame]] = {s.name: [] for s in CONFIG.sources}
    for day in days:
        for source in CONFIG.sources:
            for path in source.files(landing, day):
                for batch in get_parser(source.format)(path, source, TZ):
                    frames[source.name].append(batch.assign(day=day))
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}


def day_end(day: date) -> pd.Timestamp:
    return pd.Timestamp(day + timedelta(days=1)).tz_localize(TZ).tz_convert("UTC")


def local_day(times: pd.Series) -> pd.Series:
    return times.dt.tz_convert(TZ).dt.date


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("landing")
    return root, generate(root, DAYS[0], DAYS[-1], tz=TZ, brand=CONFIG.brand, competitors=CONFIG.competitors)


@pytest.fixture(scope="module")
def data(landing) -> dict[str, pd.DataFrame]:
    return read_days(landing[0], DAYS)


def files_of(root: Path, day: date) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for s in CONFIG.sources for p in s.files(root, day)}


def test_writes_one_file_per_source_and_day_where_the_example_config_reads(landing, data):
    root, counts = landing
    for day in DAYS:
        for source in CONFIG.sources:
            assert len(source.files(root, day)) == 1, (source.name, day)
    assert counts == {s.format: len(data[s.name]) for s in CONFIG.sources}
    assert set(counts) == set(FORMATS)  # one source per built-in format


def test_same_seed_same_bytes_and_a_day_does_not_depend_on_the_range(tmp_path):
    day = date(2024, 6, 12)
    generate(tmp_path / "alone", day, day, defects=0.1)
    generate(tmp_path / "again", day, day, defects=0.1)
    generate(tmp_path / "range", day - timedelta(days=3), day + timedelta(days=2), defects=0.1)
    generate(tmp_path / "other", day, day, defects=0.1, seed=8)
    alone = files_of(tmp_path / "alone", day)
    assert len(alone) == len(CONFIG.sources)
    assert files_of(tmp_path / "again", day) == alone
    assert files_of(tmp_path / "range", day) == alone
    other = files_of(tmp_path / "other", day)
    assert all(other[name] != content for name, content in alone.items())


def test_clean_data_parses_and_passes_validation(data):
    for name, df in data.items():
        family = next(s.family for s in CONFIG.sources if s.name == name)
        assert df["_parse_error"].isna().all(), name
        quarantined = 0
        for day in DAYS[-7:]:  # the last week, across the switch to summer time
            quarantined += len(validate_batch(df[df["day"] == day], family, name, day_end(day)).quarantined)
        assert quarantined == 0, name
    survey = data["nps_survey"]
    assert survey["nps"].between(0, 10).all() and survey["response_id"].notna().all()
    assert survey["csat"].dropna().between(1, 5).all() and survey["ces"].dropna().between(1, 7).all()
    assert data["trustpilot"]["rating"].between(1, 5).all()


def test_defects_break_a_share_of_rows_in_every_format(tmp_path):
    days = DAYS[:7]
    generate(tmp_path, days[0], days[-1], defects=0.2)
    data = read_days(tmp_path, days)
    for source in CONFIG.sources:
        df = data[source.name]
        bad = sum(len(validate_batch(df[df["day"] == d], source.family, source.name, day_end(d)).quarantined)
                  for d in days)
        assert 0.05 * len(df) < bad < 0.35 * len(df), source.name
    assert data["x"]["_parse_error"].str.startswith("invalid JSON").any()  # truncated lines
    assert data["x"]["_parse_error"].str.contains("lost its digits").any()  # Excel-mangled ids
    survey = data["nps_survey"]
    assert (survey["nps"] > 10).any() or (survey["csat"] > 5).any() or (survey["ces"] > 7).any()
    assert survey["_parse_error"].str.contains("columns, found").any()  # the trailing summary line
    assert survey["comment"].str.startswith("=HYPERLINK(").any()
    assert data["trustpilot"]["rating"].isin([0, 6]).any()
    assert data["trustpilot"]["body"].str.contains("<script>", regex=False).any()
    assert data["trustpilot"]["created_at"].isna().any()


def test_volumes_follow_the_base_rates_and_scale(tmp_path, data):
    per_day = {name: len(df) / len(DAYS) for name, df in data.items()}
    assert 30 <= per_day["trustpilot"] <= 50
    assert 120 <= per_day["x"] <= 190
    assert 22 <= per_day["nps_survey"] <= 36
    week = DAYS[:7]
    scaled = generate(tmp_path, week[0], week[-1], scale=3)
    for fmt, name in (("trustpilot_json", "trustpilot"), ("x_jsonl", "x"), ("qualtrics_csv", "nps_survey")):
        ratio = scaled[fmt] / (data[name]["day"] <= week[-1]).sum()
        assert 2.4 <= ratio <= 3.6, (fmt, ratio)


def test_weekends_are_quieter_than_weekdays(data):
    for name, df in data.items():
        counts = df.groupby("day").size()
        weekend = counts[[d.weekday() >= 5 for d in counts.index]].mean()
        weekday = counts[[d.weekday() < 5 for d in counts.index]].mean()
        assert weekend < (0.7 if name == "nps_survey" else 0.9) * weekday, name


def test_timestamps_are_in_the_day_except_a_few_late_items(data):
    for name, df in data.items():
        if name == "trustpilot":
            df = df[df["updated_at"].isna()]  # edits are earlier reviews returning
        at = df[TIME_COLUMN[next(s.family for s in CONFIG.sources if s.name == name)]]
        lag = (df["day"] - local_day(at)).map(lambda d: d.days)
        assert set(lag) <= {0, 1, 2, 3}, name
        assert 0.01 <= (lag > 0).mean() <= 0.06, name


def test_edited_reviews_come_back_later_with_new_stars_and_text(data):
    reviews = data["trustpilot"]
    edits = reviews[reviews["updated_at"].notna()]
    assert len(edits) >= 5
    assert (local_day(edits["updated_at"]) == edits["day"]).all()
    originals = reviews[reviews["updated_at"].isna()].set_index("review_id")
    matched = edits[edits["review_id"].isin(originals.index)]
    assert len(matched) >= 3  # the rest were first written before the generated range
    for edit in matched.itertuples():
        first = originals.loc[edit.review_id]
        assert first["day"] < edit.day
        assert first["rating"] != edit.rating and first["body"] != edit.body
        assert first["created_at"] == edit.created_at


NEGATIVE = r"on hold|overcharged|never arrived|useless|rude|nobody came|still waiting|drops out|scam|nightmare"
POSITIVE = r"brilliant|friendly|fantastic|seamless|great value|spot on|really happy|hassle-free|quick and"


def test_scores_agree_with_the_tone_of_the_text(data):
    survey = data["nps_survey"].dropna(subset=["comment"])
    negative = survey["comment"].str.contains(NEGATIVE, case=False)
    positive = survey["comment"].str.contains(POSITIVE, case=False) & ~negative
    assert negative.sum() >= 30 and positive.sum() >= 30
    assert survey.loc[positive, "nps"].mean() - survey.loc[negative, "nps"].mean() > 3

    reviews = data["trustpilot"]
    negative = reviews["body"].str.contains(NEGATIVE, case=False)
    positive = reviews["body"].str.contains(POSITIVE, case=False) & ~negative
    assert reviews.loc[positive, "rating"].mean() - reviews.loc[negative, "rating"].mean() > 1.5

    replied = reviews["reply_text"].notna()
    assert replied[reviews["rating"] <= 2].mean() > 2 * replied[reviews["rating"] >= 4].mean()
    assert (reviews.loc[replied, "reply_at"] > reviews.loc[replied, "created_at"]).all()


def test_survey_export_looks_like_qualtrics(landing, data):
    root, _ = landing
    raw = next(iter(CONFIG.sources[2].files(root, DAYS[0]))).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfStartDate,EndDate,Status,IPAddress,")
    header_rows = raw.split(b"\r\n")[:3]
    assert header_rows[2].startswith(b'"{""ImportId"":""startDate"",""timeZone"":""Europe/London""}"')
    assert raw.count(b"\r\n") >= raw.count(b"\n") - 5  # CRLF rows; bare LF only inside a few answers

    survey = data["nps_survey"]
    assert survey["comment"].str.contains("\n", regex=False).any()
    assert survey["comment"].str.contains('"', regex=False).any()
    assert 0.2 <= survey["comment"].isna().mean() <= 0.45
    assert set(survey["journey_stage"].dropna()) == STAGES
    assert set(survey["touchpoint"].dropna()) == TOUCHPOINTS
    assert survey["product"].nunique() == 6 and survey["location"].nunique() == 5
    emailed = survey["channel"] == "email"
    assert survey.loc[emailed, "respondent"].notna().all() and survey.loc[~emailed, "respondent"].isna().all()


def test_reviews_and_posts_look_like_the_vendors(landing, data):
    root, _ = landing
    raw = b"".join(p.read_bytes() for d in DAYS for p in CONFIG.sources[0].files(root, d))
    assert b"&amp;" in raw or b"&#x27;" in raw
    reviews = data["trustpilot"]
    assert not reviews["body"].str.contains("&amp;|&#x27;|&quot;").any()  # the parser unescaped them
    assert reviews["product"].nunique() == 6 and reviews["location"].nunique() == 5

    posts = data["x"]
    text = posts["text"]
    brand = text.str.contains(rf"(?<![A-Za-z0-9]){CONFIG.brand}(?![A-Za-z0-9])")
    rival = text.str.contains("|".join(CONFIG.competitors))
    assert brand.mean() >= 0.6 and 0.1 <= rival.mean() <= 0.4
    assert text.str.contains("[\U0001F300-\U0001FAFF]").mean() >= 0.3  # emoji
    assert 0.05 <= posts["in_reply_to"].notna().mean() <= 0.3
    assert posts["mention_id"].str.fullmatch(r"\d{19}").all()


def test_thousands_of_distinct_verbatims(data):
    texts = pd.concat([data["nps_survey"]["comment"], data["trustpilot"]["body"], data["x"]["text"]]).dropna()
    assert texts.nunique() >= 3000
    assert data["trustpilot"]["body"].nunique() >= 0.9 * len(data["trustpilot"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"start": date(2024, 3, 5), "end": date(2024, 3, 4)}, "is before start"),
     ({"defects": 1.5}, "defects must be in"), ({"scale": 0}, "scale must be at least 1")],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    args = {"start": date(2024, 3, 4), "end": date(2024, 3, 4), **kwargs}
    with pytest.raises(ValueError, match=message):
        generate(tmp_path, **args)

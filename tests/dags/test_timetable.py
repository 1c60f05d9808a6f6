"""BusinessDayTimetable: business day D, run at 02:00 London on D+1, across both clock changes of 2026."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.needs import require_module

require_module("airflow.timetables.base", "the airflow extra is not installed")

from airflow.timetables.base import DataInterval, TimeRestriction  # noqa: E402

from pipelines.timetable import BusinessDayTimetable  # noqa: E402

LONDON = BusinessDayTimetable("Europe/London", hour=2)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _runs(first_day: date, count: int) -> list:
    """`count` consecutive scheduled runs, the first for `first_day`, as the scheduler chains them."""
    restriction = TimeRestriction(earliest=utc(first_day.year, first_day.month, first_day.day), latest=None,
                                  catchup=True)
    infos, last = [], None
    for _ in range(count):
        info = LONDON.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        infos.append(info)
        last = info.data_interval
    return infos


def test_spring_forward():
    """29 March 2026: London goes from 01:00 GMT to 02:00 BST, the day has 23 hours."""
    before, day, after = _runs(date(2026, 3, 28), 3)
    # 28 March: midnight GMT to midnight GMT; run at 02:00 BST on the 29th = 01:00 UTC
    assert before.data_interval == DataInterval(utc(2026, 3, 28), utc(2026, 3, 29))
    assert before.run_after == utc(2026, 3, 29, 1)
    # 29 March: midnight GMT (00:00 UTC) to midnight BST (23:00 UTC): 23 hours
    assert day.data_interval == DataInterval(utc(2026, 3, 29), utc(2026, 3, 29, 23))
    assert day.data_interval.end - day.data_interval.start == timedelta(hours=23)
    assert day.run_after == utc(2026, 3, 30, 1)  # 02:00 BST
    assert day.logical_date == utc(2026, 3, 29)
    # 30 March: a normal BST day, 23:00 UTC to 23:00 UTC
    assert after.data_interval == DataInterval(utc(2026, 3, 29, 23), utc(2026, 3, 30, 23))
    assert after.run_after == utc(2026, 3, 31, 1)


def test_fall_back():
    """25 October 2026: London goes from 02:00 BST back to 01:00 GMT, the day has 25 hours."""
    before, day, after = _runs(date(2026, 10, 24), 3)
    # 24 October: midnight BST (23:00 UTC on the 23rd) to midnight BST; run at 02:00 GMT on the 25th
    # (01:00-02:00 happens twice that night; 02:00 only once, after the change: 02:00 UTC)
    assert before.data_interval == DataInterval(utc(2026, 10, 23, 23), utc(2026, 10, 24, 23))
    assert before.run_after == utc(2026, 10, 25, 2)
    # 25 October: midnight BST (23:00 UTC on the 24th) to midnight GMT (00:00 UTC on the 26th): 25 hours
    assert day.data_interval == DataInterval(utc(2026, 10, 24, 23), utc(2026, 10, 26))
    assert day.data_interval.end - day.data_interval.start == timedelta(hours=25)
    assert day.run_after == utc(2026, 10, 26, 2)  # 02:00 GMT
    # 26 October: a normal GMT day
    assert after.data_interval == DataInterval(utc(2026, 10, 26), utc(2026, 10, 27))
    assert after.run_after == utc(2026, 10, 27, 2)


def test_every_run_is_one_business_day_at_two_in_the_morning():
    """A whole year of chained runs: contiguous intervals, each exactly one London day, each run at 02:00."""
    infos = _runs(date(2026, 1, 1), 365)
    for i, info in enumerate(infos):
        day = date(2026, 1, 1) + timedelta(days=i)
        start, end = info.data_interval
        assert LONDON.business_day(start) == day and LONDON.business_day(end) == day + timedelta(days=1)
        run = info.run_after.in_timezone("Europe/London")
        assert (run.date(), run.hour, run.minute) == (day + timedelta(days=1), 2, 0)
        if i:
            assert start == infos[i - 1].data_interval.end
    hours = sorted({(i.data_interval.end - i.data_interval.start).total_seconds() / 3600 for i in infos})
    assert hours == [23, 24, 25]


@pytest.mark.parametrize(("first", "last"), [("2026-03-28", "2026-03-30"), ("2026-06-01", "2026-06-03")])
def test_backfill_bounds_are_calendar_dates(first, last):
    """`backfill create --from-date D1 --to-date D3` (midnight UTC bounds) gives exactly D1..D3, in BST too."""
    d1, d3 = date.fromisoformat(first), date.fromisoformat(last)
    restriction = TimeRestriction(earliest=utc(d1.year, d1.month, d1.day), latest=utc(d3.year, d3.month, d3.day),
                                  catchup=True)
    days, last_interval = [], None
    while info := LONDON.next_dagrun_info(last_automated_data_interval=last_interval, restriction=restriction):
        days.append(LONDON.business_day(info.logical_date))
        last_interval = info.data_interval
    assert days == [d1, d1 + timedelta(days=1), d3]


def test_without_catchup_only_the_latest_due_day_runs():
    # at 01:30 London on 10 June the run for 8 June (due 02:00 on the 9th) is the latest that is due
    assert LONDON.last_complete_day(utc(2026, 6, 10, 0, 30)) == date(2026, 6, 8)
    # from 02:00 London on 10 June it is 9 June's
    assert LONDON.last_complete_day(utc(2026, 6, 10, 1)) == date(2026, 6, 9)
    restriction = TimeRestriction(earliest=utc(2025, 1, 1), latest=None, catchup=False)
    info = LONDON.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert info.run_after <= datetime.now(UTC) < info.run_after + timedelta(days=1, hours=1)


def test_manual_run_covers_the_last_complete_day():
    interval = LONDON.infer_manual_data_interval(run_after=utc(2026, 10, 25, 12))
    assert interval == DataInterval(utc(2026, 10, 23, 23), utc(2026, 10, 24, 23))


def test_serialization_round_trip():
    copy = BusinessDayTimetable.deserialize(BusinessDayTimetable("America/New_York", hour=5).serialize())
    assert copy.serialize() == {"timezone": "America/New_York", "hour": 5}
    assert copy.run_at(date(2026, 3, 8)) == utc(2026, 3, 9, 9)  # 05:00 EDT
    with pytest.raises(ValueError, match="hour must be 0..23"):
        BusinessDayTimetable(hour=24)

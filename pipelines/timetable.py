"""The nightly schedule: one run per business day, at a fixed local hour the next morning.

A run's data interval is business day D itself — local midnight to local midnight, so 23 hours
on the day the clocks go forward and 25 on the day they go back — and it runs at `hour`
(02:00 by default) local time on D+1. Its logical date is therefore local midnight on D.

Backfill bounds (`airflow backfill create --from-date D1 --to-date D2`) are read as wall-clock
dates: every business day D1..D2 inclusive gets a run, whatever the UTC offset of the day.

Registered with Airflow by `plugins/cx_timetables.py` so the scheduler can deserialize it. This
module imports only Airflow's timetable base, pendulum and the standard library: the DAG file
imports it at parse time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable


class BusinessDayTimetable(Timetable):
    """Daily runs for business day D, at `hour`:00 local time on D+1 (DST-safe)."""

    def __init__(self, timezone: str = "Europe/London", hour: int = 2) -> None:
        if not 0 <= hour <= 23:
            raise ValueError(f"hour must be 0..23, got {hour}")
        self.timezone = pendulum.timezone(timezone)
        self.hour = hour
        self.description = f"Business day in {timezone}, run at {hour:02d}:00 local time the next day"

    # -- business days and their instants --------------------------------------------------

    def day_start(self, day: date) -> pendulum.DateTime:
        """Local midnight that opens business day `day` (in UTC)."""
        return pendulum.datetime(day.year, day.month, day.day, tz=self.timezone).in_timezone("UTC")

    def run_at(self, day: date) -> pendulum.DateTime:
        """When the run for business day `day` is due: `hour`:00 local time on the next day (in UTC)."""
        after = day + timedelta(days=1)
        return pendulum.datetime(after.year, after.month, after.day, self.hour, tz=self.timezone).in_timezone("UTC")

    def info(self, day: date) -> DagRunInfo:
        """The run for business day `day`."""
        interval = DataInterval(self.day_start(day), self.day_start(day + timedelta(days=1)))
        return DagRunInfo(run_after=self.run_at(day), data_interval=interval)

    def business_day(self, moment: datetime) -> date:
        """The business day a moment falls on."""
        return pendulum.instance(moment).in_timezone(self.timezone).date()

    def _wall_date(self, bound: datetime, *, ceil: bool) -> date:
        """A restriction bound read as a wall-clock date: midnight D → D; any later time → D+1 if `ceil`."""
        wall = pendulum.instance(bound).in_timezone("UTC")
        day = wall.date()
        return day + timedelta(days=1) if ceil and wall.time() != datetime.min.time() else day

    def last_complete_day(self, now: datetime) -> date:
        """The latest business day whose run is already due at `now`."""
        day = self.business_day(now) - timedelta(days=1)
        return day if self.run_at(day) <= now else day - timedelta(days=1)

    # -- the Timetable protocol ---------------------------------------------------------------

    @property
    def summary(self) -> str:
        return f"daily {self.hour:02d}:00 {self.timezone.name}, previous day"

    def serialize(self) -> dict[str, Any]:
        return {"timezone": self.timezone.name, "hour": self.hour}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> BusinessDayTimetable:
        return cls(data["timezone"], data["hour"])

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        """A manual run covers the latest complete business day before it."""
        day = self.business_day(run_after) - timedelta(days=1)
        return DataInterval(self.day_start(day), self.day_start(day + timedelta(days=1)))

    def next_dagrun_info(
        self, *, last_automated_data_interval: DataInterval | None, restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        if last_automated_data_interval is not None:
            day = self.business_day(last_automated_data_interval.start) + timedelta(days=1)
        elif restriction.earliest is None:
            return None  # no start date: never scheduled automatically
        else:
            day = self._wall_date(restriction.earliest, ceil=True)
        if not restriction.catchup:
            day = max(day, self.last_complete_day(pendulum.now("UTC")))
        if restriction.latest is not None and day > self._wall_date(restriction.latest, ceil=False):
            return None
        return self.info(day)

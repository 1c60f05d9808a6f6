"""Registers the cx_nightly schedule with Airflow, so the scheduler can deserialize it."""

from airflow.plugins_manager import AirflowPlugin

from pipelines.timetable import BusinessDayTimetable


class CxTimetablesPlugin(AirflowPlugin):
    name = "cx_timetables"
    timetables = [BusinessDayTimetable]

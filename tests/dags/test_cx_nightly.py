"""The cx_nightly DAG: parses cleanly, is wired as documented, stays cheap to parse, runs a day."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.needs import require_module

require_module("airflow.sdk", "the airflow extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
DAG_FILE = DAGS / "cx_nightly.py"
BIN = Path(sys.executable).parent  # the venv's bin: `airflow` and `cx` live next to python
DAY = date(2026, 3, 10)
HEAVY = ("pandas", "great_expectations", "sqlalchemy", "duckdb")
# the only project modules the DAG file may load at parse time: both import nothing heavy
LIGHT = {"pipelines", "pipelines.airflow_support", "pipelines.timetable"}


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    """A DagBag over dags/, parsed in a throwaway AIRFLOW_HOME."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        from airflow.dag_processing.dagbag import DagBag

        # Airflow 3.3's DagBag has no include_examples: an explicit dag_folder holds only our files
        return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags["cx_nightly"]


def test_dagbag_imports_cleanly(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dags) == ["cx_nightly"]


def test_tasks_and_dependencies(dag):
    upstream = {t.task_id: t.upstream_task_ids for t in dag.tasks}
    assert upstream == {
        "list_sources": set(),
        "start_run": set(),
        "load_source": {"list_sources", "start_run"},
        "build_marts": {"load_source", "start_run"},
        "publish": {"build_marts"},
        "finish_run": {"list_sources", "start_run", "publish"},
    }
    assert dag.get_task("load_source").is_mapped
    rules = {t.task_id: str(t.trigger_rule.value) for t in dag.tasks}
    assert rules["build_marts"] == rules["finish_run"] == "all_done"
    assert {rules[t] for t in ("list_sources", "start_run", "load_source", "publish")} == {"all_success"}


def test_schedule_and_defaults(dag):
    from pipelines.airflow_support import notify_failure
    from pipelines.config import load_config
    from pipelines.timetable import BusinessDayTimetable

    assert dag.dag_id == "cx_nightly"
    assert isinstance(dag.timetable, BusinessDayTimetable)
    assert dag.timetable.serialize() == {"timezone": "Europe/London", "hour": 2}
    # the business-day boundary is the one the pipeline attributes items with
    assert dag.timetable.timezone.name == load_config(ROOT / "config" / "sources.yml").timezone.key
    assert dag.max_active_runs == 1 and not dag.catchup
    assert {"cx"} <= set(dag.tags)
    assert dag.doc_md.strip().startswith("# CX nightly")
    for t in dag.tasks:
        assert t.owner == "cx-data"
        assert t.retries >= 1 and t.retry_exponential_backoff > 0
        assert t.execution_timeout is not None
        callbacks = t.on_failure_callback
        assert notify_failure in (callbacks if isinstance(callbacks, list) else [callbacks])
    outlets = {a.uri for a in dag.get_task("build_marts").outlets}
    assert {"cx-warehouse://marts/kpi_daily", "cx-warehouse://marts/fct_feedback"} <= outlets


@pytest.mark.parametrize(
    ("logical_date", "interval_start", "expected"),
    [
        # scheduled or backfill runs: logical date = data interval start = London midnight on D
        (datetime(2026, 3, 10, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC), "2026-03-10"),
        (datetime(2026, 6, 9, 23, tzinfo=UTC), datetime(2026, 6, 9, 23, tzinfo=UTC), "2026-06-10"),  # BST
        (datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), "2026-03-29"),  # clocks go forward
        # `airflow dags test cx_nightly D`: logical date D at midnight UTC, interval inferred before it
        (datetime(2026, 6, 10, tzinfo=UTC), datetime(2026, 6, 8, 23, tzinfo=UTC), "2026-06-10"),
        # a manual run without a logical date: the last complete business day
        (None, datetime(2026, 6, 8, 23, tzinfo=UTC), "2026-06-09"),
    ],
)
def test_business_day(logical_date, interval_start, expected):
    from pipelines.airflow_support import business_day

    day = business_day(logical_date, interval_start)
    assert type(day) is date and day.isoformat() == expected


@pytest.fixture
def dag_module(monkeypatch):
    """The DAG file as a module, with its tasks' pipeline and context replaced by recording fakes."""
    import importlib.util
    from contextlib import contextmanager
    from dataclasses import dataclass
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("cx_nightly_under_test", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls: list[tuple] = []

    @dataclass
    class Result:
        source: str
        status: str
        message: str

    class FakePipeline:
        config = SimpleNamespace(sources=[SimpleNamespace(name=n) for n in ("trustpilot", "x", "nps_survey")])
        config.select = lambda names: [SimpleNamespace(name=n) for n in names]

        def load_source(self, day, source, run_id):
            calls.append(("load_source", day, source.name, run_id))
            if source.name == "x":
                return Result(source.name, "failed", "x.jsonl: unreadable")
            return Result(source.name, "success", "")

        def finish_run(self, run_id, status, message):
            calls.append(("finish_run", run_id, status, message))

    @contextmanager
    def fake_pipeline():
        yield FakePipeline()

    states: dict[str, str] = {}
    ti = SimpleNamespace(dag_id="cx_nightly", task_id="finish_run",
                         get_task_states=lambda dag_id, run_ids: {run_ids[0]: dict(states)})
    context = {"ti": ti, "dag_run": SimpleNamespace(run_id="scheduled__x"), "logical_date": None,
               "data_interval_start": datetime(2026, 3, 10, 2, tzinfo=UTC)}
    monkeypatch.setattr(module, "pipeline", fake_pipeline)
    monkeypatch.setattr(module, "get_current_context", lambda: context)
    return SimpleNamespace(module=module, calls=calls, states=states)


def test_a_failed_source_is_recorded_then_fails_its_task(dag_module):
    from airflow.sdk.exceptions import AirflowFailException

    load = dag_module.module.load_source.function
    assert load(source="trustpilot", cx_run_id="r1") == {"source": "trustpilot", "status": "success", "message": ""}
    with pytest.raises(AirflowFailException, match="x 2026-03-10: x.jsonl: unreadable"):
        load(source="x", cx_run_id="r1")
    assert dag_module.calls == [("load_source", DAY, "trustpilot", "r1"), ("load_source", DAY, "x", "r1")]


def test_finish_run_records_success(dag_module):
    dag_module.states.update({"list_sources": "success", "start_run": "success", "load_source_0": "success",
                              "build_marts": "success", "publish": "success", "finish_run": "running"})
    dag_module.module.finish_run.function(cx_run_id="r1", sources=["trustpilot"])
    assert dag_module.calls == [("finish_run", "r1", "success", "")]


def test_finish_run_records_failed_tasks_then_fails(dag_module):
    from airflow.sdk.exceptions import AirflowFailException

    dag_module.states.update({"load_source_0": "success", "load_source_1": "failed", "load_source_2": "success",
                              "build_marts": "success", "publish": "success", "finish_run": "running"})
    with pytest.raises(AirflowFailException, match=r"failed tasks: load_source\[x\]"):
        dag_module.module.finish_run.function(cx_run_id="r1", sources=["trustpilot", "x", "nps_survey"])
    assert dag_module.calls == [("finish_run", "r1", "failed", "failed tasks: load_source[x]")]


@pytest.mark.airflow
def test_parsing_imports_nothing_heavy():
    """Parse the DAG file in a fresh interpreter: it adds none of the heavy libraries.

    `import airflow.sdk` already loads SQLAlchemy (Airflow's own settings), so the check is on what
    the DAG file adds to it; pandas, GX and DuckDB must not be loaded at all.
    """
    script = textwrap.dedent(f"""
        import json, runpy, sys
        import airflow.sdk
        baseline = set(sys.modules)
        runpy.run_path({str(DAG_FILE)!r})
        print(json.dumps({{"added": sorted(set(sys.modules) - baseline), "loaded": sorted(sys.modules)}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    modules = json.loads(proc.stdout.strip().splitlines()[-1])
    added = {m.split(".")[0] for m in modules["added"]}
    assert not added & set(HEAVY), f"the DAG file imports {sorted(added & set(HEAVY))} at parse time"
    loaded = {m.split(".")[0] for m in modules["loaded"]}
    assert not loaded & {"pandas", "great_expectations", "duckdb"}
    project = {m for m in modules["loaded"] if m.split(".")[0] == "pipelines"}
    assert project == LIGHT, f"the DAG file loads {sorted(project - LIGHT)} at parse time"


def _run(args: list[str], env: dict[str, str], cwd: Path, log: Path, expect: int = 0, timeout: int = 300) -> str:
    """Run a command with its output in `log`; on another exit code or a timeout, fail with the first error and
    the tail."""
    with log.open("w") as out:
        try:
            proc = subprocess.run(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
            code: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {timeout}s"
    output = log.read_text(errors="replace")
    if code != expect:
        first = output.find("Traceback")
        excerpt = (output[first:first + 4000] + "\n[...]\n") if first >= 0 else ""
        pytest.fail(f"{' '.join(args)}: exit {code} (full output in {log})\n{excerpt}{output[-3000:]}")
    return output


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict:
    """A fresh Airflow (SQLite metadata, migrated) reading dags/, and an empty CX_HOME."""
    tmp = tmp_path_factory.mktemp("cx_nightly")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CX_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "AIRFLOW_HOME": str(tmp / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "CX_HOME": str(tmp / "cx"),
        "CX_PII_KEY": "test-key",
    })
    _run([str(BIN / "airflow"), "db", "migrate"], env, tmp, tmp / "db_migrate.log")
    return {"env": env, "tmp": tmp}


def _query(tmp: Path, sql: str, *params) -> list[tuple]:
    import duckdb

    con = duckdb.connect(str(tmp / "cx" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.mark.airflow
def test_dags_test_processes_business_day(airflow_env):
    env, tmp = airflow_env["env"], airflow_env["tmp"]
    start = (DAY - timedelta(days=1)).isoformat()
    _run([str(BIN / "cx"), "sample-data", "--start", start, "--end", DAY.isoformat()], env, tmp,
         tmp / "sample_data.log")
    _run([str(BIN / "airflow"), "dags", "test", "cx_nightly", DAY.isoformat()], env, tmp, tmp / "dags_test.log")

    assert _query(tmp, "select count(*) from marts.kpi_daily where kpi_date = ?", DAY)[0][0] > 0
    assert _query(tmp, "select count(*) from marts.fct_feedback where feedback_date = ?", DAY)[0][0] > 0
    assert _query(tmp, "select status, message from ops.runs where business_date = ?", DAY) == [("success", "")]
    from pipelines.config import load_config

    every_source = {s.name: "success" for s in load_config(ROOT / "config" / "sources.yml").sources}
    assert "trustpilot" in every_source and "nps_survey" in every_source
    assert dict(_query(tmp, "select source, status from ops.source_runs where business_date = ?", DAY)) == every_source
    assert (tmp / "cx" / "reports" / str(DAY) / f"cx_report_{DAY}.html").is_file()


@pytest.mark.airflow
def test_a_failed_source_fails_the_run_but_not_the_marts(airflow_env):
    """An unreadable Trustpilot file: that source is recorded as failed, the others load, the marts and
    report are still built, and the run ends failed."""
    env, tmp = airflow_env["env"], airflow_env["tmp"]
    day = DAY + timedelta(days=1)
    landing = tmp / "cx" / "landing"
    (landing / "trustpilot" / str(day)).mkdir(parents=True)
    (landing / "trustpilot" / str(day) / "reviews.json").write_text('{"broken": ')
    (landing / "x" / str(day)).mkdir(parents=True)
    post = {"id": "1790000000000000001", "text": "Love @Acme broadband!", "created_at": f"{day}T12:00:00.000Z",
            "author_id": "u1", "lang": "en", "conversation_id": "1790000000000000001",
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 1, "quote_count": 0}}
    (landing / "x" / str(day) / "posts.jsonl").write_text(json.dumps(post) + "\n")

    out = _run([str(BIN / "airflow"), "dags", "test", "cx_nightly", day.isoformat()], env, tmp,
               tmp / "dags_test_failed_source.log", expect=1)

    assert "DagRun failed" in out
    statuses = dict(_query(tmp, "select source, status from ops.source_runs where business_date = ?", day))
    assert (statuses.pop("trustpilot"), statuses.pop("x")) == ("failed", "success")
    assert set(statuses.values()) == {"no_data"}  # every other source of the example config had no file
    assert _query(tmp, "select status, message from ops.runs where business_date = ?", day) == [
        ("failed", "failed tasks: load_source[trustpilot]")]
    assert _query(tmp, "select count(*) from marts.fct_feedback where feedback_date = ?", day) == [(1,)]
    report = (tmp / "cx" / "reports" / str(day) / f"cx_report_{day}.html").read_text()
    assert re.search(r"trustpilot\W[^\n]{0,60}failed", report), "the report must name the stale source"


@pytest.mark.airflow
def test_backfill_covers_from_date_to_date(airflow_env):
    """`backfill create --from-date D1 --to-date D2` plans one run per business day D1..D2.

    Across the clocks going forward (29 March 2026); needs the DAG serialized, which `dags test` does.
    """
    env, tmp = airflow_env["env"], airflow_env["tmp"]
    _run([str(BIN / "airflow"), "dags", "reserialize"], env, tmp, tmp / "reserialize.log")
    out = _run([str(BIN / "airflow"), "backfill", "create", "--dag-id", "cx_nightly", "--from-date", "2026-03-27",
                "--to-date", "2026-03-31", "--dry-run"], env, tmp, tmp / "backfill.log")
    from pipelines.airflow_support import business_day

    logical = [datetime.fromisoformat(m) for m in re.findall(r"^\| (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00)", out, re.M)]
    assert [business_day(d, d).isoformat() for d in logical] == [f"2026-03-{d}" for d in range(27, 32)]


def _failed_load_context() -> dict:
    from types import SimpleNamespace

    ti = SimpleNamespace(dag_id="cx_nightly", task_id="load_source", map_index=1, rendered_map_index="x",
                         try_number=3)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id="scheduled__2026-03-11T02:00:00+00:00"),
            "run_id": "scheduled__2026-03-11T02:00:00+00:00", "exception": ValueError("x.jsonl: unreadable")}


def test_failure_notifier_logs_and_emails_the_ops_address(smtp_connection, caplog, monkeypatch):
    import email
    import email.policy

    from pipelines.airflow_support import notify_failure

    monkeypatch.setenv("CX_OPS_EMAIL", "ops@example.com")
    with caplog.at_level("ERROR", logger="pipelines.airflow_support"):
        notify_failure(_failed_load_context())
    # the notifier's own records: the loopback SMTP server logs its connections too, once Airflow's
    # logging setup (from the tests before, in the same process) lets them through
    logged = [r.getMessage() for r in caplog.records if r.name == "pipelines.airflow_support"]
    assert logged == ["CX pipeline task failure: cx_nightly.load_source[x] failed in run "
                      "scheduled__2026-03-11T02:00:00+00:00 (try 3): ValueError: x.jsonl: unreadable"]
    (envelope,) = smtp_connection.envelopes
    assert envelope.rcpt_tos == ["ops@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == "[CX Pipeline] cx_nightly.load_source failed (scheduled__2026-03-11T02:00:00+00:00)"
    assert "x.jsonl: unreadable" in message.get_body(("html",)).get_content()


def test_an_alert_that_cannot_be_sent_does_not_raise(caplog, monkeypatch):
    from pipelines.airflow_support import notify_failure

    # a closed port: the SMTP connection is refused
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": 9, "extra": {"disable_ssl": True, "disable_tls": True,
                                                                       "timeout": 2, "retry_limit": 0}}))
    with caplog.at_level("WARNING", logger="pipelines.airflow_support"):
        notify_failure(_failed_load_context())
    assert any(m.startswith("failure alert not sent: ") for m in caplog.messages)


def test_a_task_starts_no_helper_process(tmp_path, monkeypatch):
    """Tasks load sources in parallel; a helper of a task would import the `airflow` command again."""
    from pipelines.airflow_support import pipeline
    from pipelines.helpers import helpers_allowed

    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # a one-core machine would start none anyway
    monkeypatch.setenv("CX_HOME", str(tmp_path))
    assert helpers_allowed()
    with pipeline():
        assert not helpers_allowed()
    assert helpers_allowed()

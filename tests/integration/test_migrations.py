"""`cx db init` upgrades a warehouse written by an older release in place, without data loss.

The old warehouse is made by the real code of schema version 2 (taken from git history) running
a real day, on DuckDB and PostgreSQL; the current code then upgrades it and runs on."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines.enrich.sentiment import get_model
from pipelines.enrich.sentiment_cache import WarehouseCache
from pipelines.run import Pipeline
from pipelines.warehouse import db
from tests.integration.conftest import PG_ADMIN_URL, _drop_database, _postgres_database, sample_history
from tests.integration.test_star_schema import D1, SOURCES, keys, write_day
from tests.needs import require

ROOT = Path(__file__).parents[2]
VERSION_2 = "df3a7c382a4c464a97f8cd61cd1e9f31feefc09a"  # last commit whose schema ends at 002_analytics
V2_SOURCES = """\
timezone: UTC
brand: Acme
competitors: [Globex]
sources:
  - {name: trustpilot, family: review, format: trustpilot_json, path: "{landing}/trustpilot/{date}/*.json"}
  - {name: x, family: mention, format: x_jsonl, path: "{landing}/x/{date}/*.jsonl"}
  - name: nps_survey
    family: survey
    format: qualtrics_csv
    path: "{landing}/qualtrics/{date}/*.csv"
    fields: {nps: Q1, comment: Q2, journey_stage: Q3, touchpoint: Q4, product: Product, location: Location}
"""
COUNTED = ["raw.trustpilot", "raw.x", "raw.nps_survey", "staging.stg_review", "staging.stg_mention",
           "staging.stg_survey_response", "marts.fct_review", "marts.fct_mention", "marts.fct_survey_response",
           "marts.fct_feedback", "marts.kpi_daily", "marts.dim_date", "ops.runs", "ops.row_accounting",
           "ops.quarantine", "ops.source_runs"]


def version_2_code(dest: Path) -> Path:
    """The package and SQL of schema version 2, exported from git; skips without the history."""
    archive = dest / "v2.tar"
    proc = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), VERSION_2, "pipelines", "sql",
                           "expectations", "reports", "config"], capture_output=True, text=True)
    require(proc.returncode == 0, f"git history with {VERSION_2[:7]} is not available: {proc.stderr.strip()}")
    code = dest / "v2"
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    return code


REBUILT_MARTS = {"fct_review", "fct_mention", "fct_survey_response", "fct_feedback", "feedback_theme", "kpi_daily",
                 "theme_impact", "emerging_terms", "anomalies", "risk_spans", "channel_consistency"}


LOAD_TABLES = {"staging.stg_review", "staging.stg_mention", "staging.stg_survey_response", "ops.sentiment_cache",
               "ops.theme_cache"}


def constraint_kinds(engine: sa.Engine, tables: set[str]) -> dict[str, set[str]]:
    """{schema.table: its constraint types} for `tables`."""
    found: dict[str, set[str]] = {t: set() for t in tables}
    with engine.connect() as conn:
        for schema, table, kind in conn.execute(sa.text(
                "select table_schema, table_name, constraint_type from information_schema.table_constraints")):
            if f"{schema}.{table}" in found:
                found[f"{schema}.{table}"].add(kind)
    return found


def mart_constraints(engine: sa.Engine) -> dict[str, set[str]]:
    """{table: its constraint types} for the marts rebuilt by date."""
    return {t.removeprefix("marts."): kinds
            for t, kinds in constraint_kinds(engine, {f"marts.{t}" for t in REBUILT_MARTS}).items()}


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in COUNTED}


def test_db_init_upgrades_a_version_2_warehouse_with_data(tmp_path, warehouse_url, monkeypatch):
    landing = tmp_path / "landing"
    write_day(landing, D1,
              reviews=[("tp1", 2, "Ann S", "CUST-7"), ("tp2", 5, "Bob", "CUST-8")],
              posts=[("1790000000000000001", "u1", "CUST-7", "@Acme still no signal")],
              responses=[("R_1", "ann@mail.example", "CUST-7", 3), ("R_2", "carl@mail.example", "", 9),
                         ("R_3", "dee@mail.example", "", 14)])  # an NPS of 14 is quarantined
    old_config, new_config = tmp_path / "v2.yml", tmp_path / "sources.yml"
    old_config.write_text(V2_SOURCES)
    new_config.write_text(SOURCES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(tmp_path / "home"), CX_LANDING_DIR=str(landing), CX_WAREHOUSE_URL=warehouse_url,
               CX_PII_KEY="upgrade-key", PYTHONPATH=str(version_2_code(tmp_path)))
    old = subprocess.run([sys.executable, "-m", "pipelines", "run", "--date", str(D1), "--no-deliver",
                          "--config", str(old_config)], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert old.returncode == 0, old.stdout + old.stderr

    for name, value in env.items():
        if name.startswith("CX_"):
            monkeypatch.setenv(name, value)
    pipeline = Pipeline.from_env(new_config)
    with pipeline.engine.connect() as conn:
        assert conn.execute(sa.text("select max(version) from ops.schema_migrations")).scalar_one() == 2
    before = counts(pipeline.engine)
    assert before["marts.fct_review"] == 2 and before["ops.quarantine"] == 1

    assert pipeline.init_db() == list(range(3, 23))  # every later migration applies over data
    assert pipeline.init_db() == []  # idempotent
    assert counts(pipeline.engine) == before  # nothing lost, nothing invented
    # version 10: DuckDB's rebuilt marts keep no key index, PostgreSQL's keep theirs; versions 12 and
    # 13: no fact keeps a foreign key (the marts checks look the references up); checks stay everywhere
    constraints = mart_constraints(pipeline.engine)
    duck = pipeline.engine.dialect.name == "duckdb"
    keyed = {t for t, kinds in constraints.items() if kinds & {"PRIMARY KEY", "UNIQUE"}}
    assert keyed == (set() if duck else REBUILT_MARTS)
    referencing = {t for t, kinds in constraints.items() if "FOREIGN KEY" in kinds}
    assert referencing == set()
    assert "CHECK" in constraints["fct_feedback"] and "CHECK" in constraints["kpi_daily"]
    # version 20: DuckDB's staging tables and text caches keep no key index either, PostgreSQL's do;
    # their checks and not-null columns stay
    loads = constraint_kinds(pipeline.engine, LOAD_TABLES)
    assert {t for t, kinds in loads.items() if "PRIMARY KEY" in kinds} == (set() if duck else LOAD_TABLES)
    assert "CHECK" in loads["staging.stg_review"] and "CHECK" in loads["ops.sentiment_cache"]
    with pipeline.engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from marts.fct_feedback where customer_key is null")
                            ).scalar_one() == before["marts.fct_feedback"]
        # every stored date is pending, so the next run gives the old facts their customer keys
        assert conn.execute(sa.text("select feedback_date from ops.dirty_dates")).scalars().all() == [D1]
        assert {"Broadband", "Mobile"} == set(conn.execute(sa.text(
            "select product from marts.dim_product")).scalars())

    pipeline.build_marts(D1)
    after = counts(pipeline.engine)
    # the rebuild keeps every row; only kpi_daily may grow, with the metrics added since version 2
    assert {t: n for t, n in after.items() if t != "marts.kpi_daily"} == \
        {t: n for t, n in before.items() if t != "marts.kpi_daily"}
    assert after["marts.kpi_daily"] >= before["marts.kpi_daily"]
    k = keys(pipeline)
    assert None not in k.values()
    with pipeline.engine.connect() as conn:
        # NPS of D1: R_1 scored 3 (detractor), R_2 9 (promoter), R_3's 14 was quarantined: (1 - 1) / 2 = 0
        assert tuple(conn.execute(sa.text(
            "select value, sample_size from marts.kpi_daily where kpi_date = :d and window_days = 1 "
            "and metric = 'nps' and segment_type = 'all'"), {"d": D1}).one()) == (0.0, 2)
        # version 16: the day's statistics were written, and the windows summed them: 1 promoter, 1 detractor
        assert tuple(conn.execute(sa.text(
            "select n, k1, k2 from marts.kpi_day_stats where feedback_date = :d and stat = 'nps' "
            "and segment_type = 'all'"), {"d": D1}).one()) == (2, 1, 1)
    pipeline.engine.dispose()


def test_version_11_keeps_every_cached_text_under_its_uuid_key(tmp_path, warehouse_url, monkeypatch):
    """Cache rows written under version 10 (hex text keys) are found by the current lookups after it."""
    older = tmp_path / "sql"
    later = [p.name for p in (db.SQL_DIR / "migrations").glob("*.sql") if int(p.name[:3]) > 10]
    shutil.copytree(db.SQL_DIR, older, ignore=lambda _, names: [n for n in names if n in later])
    monkeypatch.setattr(db, "SQL_DIR", older)
    engine = db.make_engine(warehouse_url)
    assert db.migrate(engine)[-1] == 10
    model = get_model()
    texts = ["Still waiting for my refund.", "Brilliant service 😀"]
    with engine.begin() as conn:
        for text, score in zip(texts, (-0.25, 0.75), strict=True):
            conn.execute(sa.text("insert into ops.sentiment_cache values (:h, :m, :v, :s)"),
                         {"h": hashlib.md5(text.encode()).hexdigest(), "m": model.name, "v": model.version, "s": score})
        conn.execute(sa.text("insert into ops.theme_cache values (:h, 'tax', 5)"),
                     {"h": hashlib.md5(texts[0].encode()).hexdigest()})

    monkeypatch.undo()
    assert db.migrate(engine)[0] == 11
    with engine.begin() as conn:
        cache = WarehouseCache(conn, model)
        # the stored scores, not fresh ones: VADER scores neither text -0.25 nor 0.75
        assert cache([*texts, "Arrived a day early."]).tolist()[:2] == [-0.25, 0.75]
        assert (cache.cache.hits, cache.cache.misses) == (2, 1)
        assert conn.execute(sa.text("select themes from ops.theme_cache where text_hash = md5(:t)::uuid"),
                            {"t": texts[0]}).scalar_one() == 5
        assert conn.execute(sa.text("select count(*) from ops.sentiment_cache")).scalar_one() == 3
    engine.dispose()


def test_version_17_counts_the_terms_of_every_stored_date(tmp_path, warehouse_url, monkeypatch):
    """A warehouse of version 16 holds facts but no term counts: version 17 marks its dates dirty,
    and the next build counts their texts, which emerging terms sum."""
    landing = tmp_path / "landing"
    write_day(landing, D1, posts=[("1790000000000000001", "u1", "CUST-7", "@Acme still no signal"),
                                  ("1790000000000000002", "u2", "", "Signal lost again, no signal")])
    config = tmp_path / "sources.yml"
    config.write_text(SOURCES)
    for name, value in (("CX_HOME", tmp_path / "home"), ("CX_LANDING_DIR", landing),
                        ("CX_WAREHOUSE_URL", warehouse_url), ("CX_PII_KEY", "upgrade-key")):
        monkeypatch.setenv(name, str(value))
    pipeline = Pipeline.from_env(config)
    pipeline.init_db()
    pipeline.run_day(D1, deliver=False)
    with pipeline.engine.begin() as conn:  # back to version 16: no table, no record, nothing pending
        conn.execute(sa.text("drop table marts.term_day_counts"))
        conn.execute(sa.text("delete from ops.schema_migrations where version = 17"))
        assert conn.execute(sa.text("select count(*) from ops.dirty_dates")).scalar_one() == 0

    assert pipeline.init_db() == [17]
    with pipeline.engine.connect() as conn:
        assert conn.execute(sa.text("select feedback_date from ops.dirty_dates")).scalars().all() == [D1]
    pipeline.build_marts(D1)
    with pipeline.engine.connect() as conn:
        docs = dict(conn.execute(sa.text("select term, docs from marts.term_day_counts where feedback_date = :d"),
                                 {"d": D1}).all())
    # "signal" in both texts (once per text however often), "lost" in one; "still", "no", "again" are stopwords
    assert docs["signal"] == 2 and docs["lost"] == 1
    assert "still" not in docs and "no signal" not in docs
    pipeline.engine.dispose()


def test_version_19_keeps_every_customer_at_risk_as_a_span(tmp_path, warehouse_url, monkeypatch):
    """A warehouse of version 18 stores customers at risk once per kpi date: version 19 computes the
    spans of every stored interaction, and the view lists the same rows the table held."""
    pipeline = sample_history(tmp_path, warehouse_url, monkeypatch, D1 - timedelta(days=6), D1)
    listed = "select kpi_date, customer_hash, source, feedback_id, occurred_at, text, url, reason " \
             "from marts.customers_at_risk"
    with pipeline.engine.begin() as conn:  # back to version 18: the table as it was, no spans, no record
        conn.execute(sa.text(f"create table marts.cx_at_risk_v18 as {listed}"))
        conn.execute(sa.text("drop view marts.customers_at_risk"))
        conn.execute(sa.text("drop table marts.risk_spans"))
        conn.execute(sa.text("alter table marts.cx_at_risk_v18 rename to customers_at_risk"))
        conn.execute(sa.text("delete from ops.schema_migrations where version in (19, 22)"))
        before = sorted(conn.execute(sa.text(listed)).all())

    assert pipeline.init_db() == [19, 22]  # 22 keys the spans by the resolved customer again
    with pipeline.engine.connect() as conn:
        after = sorted(conn.execute(sa.text(listed)).all())
        spans = conn.execute(sa.text("select count(*) from marts.risk_spans")).scalar_one()
    assert len(before) > 100 and after == before
    assert spans < len(before) / 2  # a customer at risk stays so for several kpi dates, stored once
    pipeline.engine.dispose()


def test_version_22_keys_every_span_at_risk_by_the_resolved_customer(tmp_path, warehouse_url, monkeypatch):
    """A warehouse of version 21 keys its spans at risk by each fact's own author or respondent
    hash: version 22 computes every span again by the customer's key, as a build now writes them."""
    pipeline = sample_history(tmp_path, warehouse_url, monkeypatch, D1 - timedelta(days=6), D1)
    listed = "select customer_hash, source, feedback_id, occurred_at, reason, first_date, last_date " \
             "from marts.risk_spans"
    with pipeline.engine.begin() as conn:
        built = sorted(conn.execute(sa.text(listed)).all())
        # back to version 21: the spans named by the facts' own hashes, no record of version 22
        conn.execute(sa.text("update marts.risk_spans set customer_hash = f.customer_hash from marts.fct_feedback "
                             "as f where f.feedback_id = marts.risk_spans.feedback_id"))
        conn.execute(sa.text("delete from ops.schema_migrations where version = 22"))
        before = sorted(conn.execute(sa.text(listed)).all())
    assert len(built) > 100 and all(row.customer_hash.startswith("c_") for row in built) and before != built

    assert pipeline.init_db() == [22]
    with pipeline.engine.connect() as conn:
        assert sorted(conn.execute(sa.text(listed)).all()) == built
    pipeline.engine.dispose()


def test_version_21_keeps_every_identifier_and_its_key_without_the_foreign_key(tmp_path, warehouse_url, monkeypatch):
    """A warehouse of version 20 holds its identifiers under a foreign key to dim_customer: version 21
    keeps every one, and the primary key, and drops the foreign key (identity resolution checks the
    reference instead)."""
    pipeline = sample_history(tmp_path, warehouse_url, monkeypatch, D1 - timedelta(days=2), D1)
    listed = "select identity, identity_kind, customer_key from marts.customer_identity"
    table = "marts.customer_identity"
    with pipeline.engine.begin() as conn:  # back to version 20: the table as version 3 declared it, no record
        conn.execute(sa.text(f"create table marts.cx_identity_v20 as {listed}"))
        conn.execute(sa.text(f"drop table {table}"))
        conn.execute(sa.text(
            f"create table {table} (identity text primary key, identity_kind text not null "
            "check (identity_kind in ('email', 'customer_id', 'author')), "
            "customer_key text not null references marts.dim_customer (customer_key))"))
        conn.execute(sa.text(f"insert into {table} select * from marts.cx_identity_v20"))
        conn.execute(sa.text("drop table marts.cx_identity_v20"))
        conn.execute(sa.text("delete from ops.schema_migrations where version = 21"))
        before = sorted(conn.execute(sa.text(listed)).all())
    assert "FOREIGN KEY" in constraint_kinds(pipeline.engine, {table})[table]

    assert pipeline.init_db() == [21]
    kinds = constraint_kinds(pipeline.engine, {table})[table]
    assert "FOREIGN KEY" not in kinds and {"PRIMARY KEY", "CHECK"} <= kinds
    with pipeline.engine.connect() as conn:
        after = sorted(conn.execute(sa.text(listed)).all())
    assert len(before) > 100 and after == before
    pipeline.engine.dispose()


def test_two_warehouses_migrated_at_once_on_one_server_both_get_the_reader_role():
    """Roles belong to the server, not to a database: two first migrations at once (two brands'
    warehouses, two test workers) both find the role missing, and the second's create waits for the
    first's commit. It must then go on, not fail on the duplicate."""
    create = next(s for s in db.statements((db.SQL_DIR / "migrations" / "003_star_schema.postgresql.sql").read_text())
                  if "create role" in s)
    role = f"cx_test_reader_{uuid.uuid4().hex[:8]}"
    create = create.replace("cx_marts_reader", role)
    name = _postgres_database()
    engine = sa.create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    failed: list[BaseException] = []

    def second() -> None:
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(create)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            failed.append(exc)

    try:
        with engine.connect() as first, engine.connect() as watch:
            first.begin()
            first.exec_driver_sql(create)  # the role is created, not committed
            waiting = threading.Thread(target=second)
            waiting.start()
            for _ in range(200):  # until the second create waits on the first's lock
                blocked = watch.execute(sa.text("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                                "and query like :q"), {"q": f"%{role}%"}).scalar_one()
                watch.rollback()  # the statistics views hold still within a transaction
                if blocked:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second migration never waited on the first")
            first.commit()
            waiting.join(timeout=30)
        assert not failed, failed
        with engine.connect() as conn:
            found = conn.execute(sa.text("select count(*) from pg_roles where rolname = :r"), {"r": role})
            assert found.scalar_one() == 1
    finally:
        engine.dispose()
        _drop_database(name)
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"drop role if exists {role}")
        admin.dispose()

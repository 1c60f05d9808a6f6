"""The pure parts of benchmarks/pipeline.py: scales, summaries, ratios, targets and the results schema."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "pipeline.py"
spec = importlib.util.spec_from_file_location("bench_pipeline", PATH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _run(scale: int, peak: float, seconds: tuple[float, ...] = (2.0, 1.0, 0.5, 0.5)) -> dict:
    stages = [bench.stage_row("load a", 100 * scale, seconds[0], peak - 10),
              bench.stage_row("load b", 300 * scale, seconds[1], peak, 60.0),  # 60 MB of it the helpers
              bench.stage_row("marts + KPIs", 400 * scale, seconds[2], peak - 5),
              bench.stage_row("report", 400 * scale, seconds[3], peak - 1)]
    return bench.summarise_run(scale, stages, {"duckdb_read_s": 1.5, "vader_s": 0.5, "texts": 400 * scale})


def test_large_scale_reaches_every_volume_of_a_large_day():
    # Thursday 2026-03-12: mentions need 200,000 / (150 x 1.0) = 1333.3 -> 1334; reviews 20,000 / (40 x 1.0) = 500,
    # responses 10,000 / (30 x 1.05) = 317.5 -> 318; the largest wins
    assert bench.large_scale() == 1334


def test_parse_scales_accepts_large_and_rejects_nonsense():
    assert bench.parse_scales("1, 10,large", large=lambda: 1334) == [1, 10, 1334]
    with pytest.raises(ValueError):
        bench.parse_scales("0")
    with pytest.raises(ValueError):
        bench.parse_scales(" , ")


def test_summary_sums_stages_and_divides_by_the_references():
    run = _run(1, 200.0)
    # rows are what the loads read: 100 + 300; seconds 2 + 1 + 0.5 + 0.5 = 4; 400 / 4 = 100 rows/s
    # the peak is load b's, helpers included
    assert run["total"] == {"stage": "whole run", "rows": 400, "seconds": 4.0, "rows_per_s": 100.0,
                            "peak_rss_mb": 200.0, "helpers_mb": 60.0, "cpu_s": None, "cores": None, "sql_s": None}
    # 4 s / (1.5 s DuckDB + 0.5 s VADER) = 2.0
    assert run["ratio"] == 2.0
    assert run["stages"][1]["rows_per_s"] == 300.0  # 300 rows / 1 s


def test_cpu_seconds_say_how_many_cores_a_stage_kept_busy():
    stages = [bench.stage_row("load a", 100, 2.0, 150.0, cpu_s=3.0),
              bench.stage_row("marts + KPIs", 100, 4.0, 180.0, cpu_s=4.2)]
    # load a: 3 CPU-s in 2 s = 1.5 cores; the marts 4.2 / 4 = 1.05
    assert [(s["cpu_s"], s["cores"]) for s in stages] == [(3.0, 1.5), (4.2, 1.05)]
    total = bench.summarise_run(1, stages, {"duckdb_read_s": 1.0, "vader_s": 1.0, "texts": 100})["total"]
    # 3 + 4.2 = 7.2 CPU-s in 2 + 4 = 6 s: 1.2 cores
    assert (total["cpu_s"], total["cores"]) == (7.2, 1.2)
    assert "| marts + KPIs | 100 | 4.00 | 25 | 180 | 0 | 4.2 | 1.05 | – |" in bench.markdown(_result([{
        "scale": 1, "stages": stages, "total": total, "reference": {"duckdb_read_s": 1.0, "vader_s": 1.0, "texts": 100},
        "ratio": 3.0}]))
    # a stage without CPU figures (an older results file) leaves the whole run's unknown
    assert _run(1, 200.0)["total"]["cores"] is None


def test_the_floor_is_the_run_s_cpu_seconds_spread_over_every_core():
    stages = [bench.stage_row("load a", 100, 2.0, 150.0, cpu_s=3.0),
              bench.stage_row("marts + KPIs", 100, 4.0, 180.0, cpu_s=4.2)]
    reference = {"duckdb_read_s": 1.0, "vader_s": 1.0, "texts": 100, "model": "cx_vader", "model_s": 1.5}
    run = bench.summarise_run(1, stages, reference, cores=2)
    # 7.2 CPU-s over 2 cores = 3.6 s at best, against 2 s of references: 1.8; the target allows
    # 1.5 x 2 s x 2 cores = 6 CPU-s, of which the model's 1.5 s is a quarter
    # the loads alone over both cores: 3.0 CPU-s / 2 = 1.5 s, plus the marts' 4.0 s as measured,
    # against 2 s: 2.75
    assert run["floor"] == {"cores": 2, "ratio": 1.8, "budget_cpu_s": 6.0, "model_share": 0.25,
                            "loads_spread": 2.75, "statements": None}
    summary = bench.markdown(_result([run]))
    assert ("Floor: the run's 7.2 CPU-s on 2 cores, every core busy throughout, would still give a ratio of 1.80; "
            "the target's 1.5 × the references allows 6.0 CPU-s. The pipeline's sentiment model (cx_vader) alone, "
            "serially over the same texts: 1.50 CPU-s, 25% of that budget.") in summary
    assert ("Had only the loads kept every core busy, the other stages taking what they took: a ratio of 2.75."
            in summary)
    # no CPU figures (an older results file): no floor, and no line for it
    assert _run(1, 200.0)["floor"] is None and "Floor" not in bench.markdown(_result([_run(1, 200.0)]))


def test_each_stage_takes_at_least_its_statements_in_the_statements_floor():
    stages = [bench.stage_row("load a", 100, 3.0, 150.0, cpu_s=4.0, sql_s=1.0),
              bench.stage_row("marts + KPIs", 100, 4.0, 180.0, cpu_s=3.0, sql_s=2.5),
              bench.stage_row("report", 100, 1.0, 120.0, cpu_s=1.0, sql_s=0.1)]
    run = bench.summarise_run(1, stages, {"duckdb_read_s": 1.0, "vader_s": 1.0, "texts": 100}, cores=2)
    # load a: 4 CPU-s / 2 cores = 2 s, more than its 1 s of statements; the marts: 3 / 2 = 1.5 s,
    # less than their 2.5 s of statements; the report: 1 / 2 = 0.5 s > 0.1 s. 2 + 2.5 + 0.5 = 5 s
    # against 2 s of references: 2.5 (the plain floor: 8 CPU-s / 2 / 2 s = 2.0)
    assert (run["floor"]["ratio"], run["floor"]["statements"]) == (2.0, 2.5)
    assert run["total"]["sql_s"] == 3.6  # 1 + 2.5 + 0.1
    summary = bench.markdown(_result([run]))
    assert "| marts + KPIs | 100 | 4.00 | 25 | 180 | 0 | 3.0 | 0.75 | 2.5 |" in summary
    assert ("Every core busy, but each stage taking at least the seconds of its warehouse statements (SQL s: one "
            "connection runs one at a time): a ratio of 2.50.") in summary
    # a stage without statement seconds (an older results file): no such floor, and no line for it
    stages[1].pop("sql_s")
    run = bench.summarise_run(1, stages, {"duckdb_read_s": 1.0, "vader_s": 1.0, "texts": 100}, cores=2)
    assert run["floor"]["statements"] is None and "Every core busy, but" not in bench.markdown(_result([run]))


def test_repeated_runs_keep_the_median_ratio_and_list_every_run():
    # ratios 4 s / 2 s = 2.0, 8 / 2 = 4.0, 6 / 2 = 3.0: the median is the 6 s run
    runs = [_run(10, 300.0, seconds=s) for s in ((2.0, 1.0, 0.5, 0.5), (4.0, 2.0, 1.0, 1.0), (3.0, 1.5, 0.75, 0.75))]
    chosen = bench.median_run(runs)
    assert (chosen["ratio"], chosen["total"]["seconds"]) == (3.0, 6.0)
    assert chosen["repeats"] == [{"seconds": 4.0, "cpu_s": None, "ratio": 2.0},
                                 {"seconds": 8.0, "cpu_s": None, "ratio": 4.0},
                                 {"seconds": 6.0, "cpu_s": None, "ratio": 3.0}]
    assert "every run: 4.0 s (ratio 2.00), 8.0 s (ratio 4.00), 6.0 s (ratio 3.00)." in bench.markdown(_result([chosen]))
    # an even number: the lower middle (ratios 2.0 and 4.0 -> 2.0); one run: itself, no list in the summary
    assert bench.median_run(runs[:2])["ratio"] == 2.0
    single = bench.median_run(runs[:1])
    assert single["ratio"] == 2.0 and "every run" not in bench.markdown(_result([single]))


def test_a_profile_with_repeats_is_one_more_run_left_out_of_the_median(monkeypatch, tmp_path):
    # the measuring children are replaced by their figures: the profiled run takes 100 s, the others 4, 8, 6 s
    calls, seconds = [], iter([100.0, 4.0, 8.0, 6.0])

    def child(mode, env):
        calls.append(mode)
        if mode[0] == "reference":
            return {"duckdb_read_s": 1.5, "vader_s": 0.5, "texts": 10}
        return {"failed": [], "stages": [bench.stage_row("load a", 10, next(seconds), 100.0)]}

    monkeypatch.setattr(bench, "_child", child)
    monkeypatch.setattr(bench, "_sample", lambda *args: None)
    warehouse = bench.Warehouse("duckdb")
    run = bench.measure_scale(1, bench.DAY, warehouse, tmp_path / "profile.txt", repeat=3)
    stages = [mode for mode in calls if mode[0] == "stages"]
    assert [("--profile-to" in mode) for mode in stages] == [True, False, False, False]
    assert [mode[0] for mode in calls].count("reference") == 3  # none for the profiled run
    assert [r["seconds"] for r in run["repeats"]] == [4.0, 8.0, 6.0] and run["total"]["seconds"] == 6.0
    # one run: it is the profiled one, and it counts
    calls.clear()
    seconds = iter([100.0])
    run = bench.measure_scale(1, bench.DAY, warehouse, tmp_path / "profile.txt", repeat=1)
    assert ["--profile-to" in mode for mode in calls if mode[0] == "stages"] == [True]
    assert run["total"]["seconds"] == 100.0


def test_memory_growth_pairs_the_largest_s_with_ten_s():
    runs = [_run(1, 200.0), _run(3, 220.0), _run(10, 250.0)]
    # 250 / 200 = 1.25
    assert bench.memory_growth(runs) == {"small_scale": 1, "large_scale": 10, "small_peak_mb": 200.0,
                                         "large_peak_mb": 250.0, "ratio": 1.25}
    # with 1, 10 and 100 the pair is 10 -> 100: 400 / 250 = 1.6
    assert bench.memory_growth([*runs, _run(100, 400.0)])["ratio"] == 1.6
    assert bench.memory_growth([_run(1, 200.0), _run(5, 300.0)]) is None


def _result(runs: list[dict], warehouse: str = "duckdb", backfill: dict | None = None) -> dict:
    result = {"date": "2026-12-04", "created_at": "2026-12-04T06:00:00+00:00", "warehouse": warehouse,
              "business_day": "2026-03-12", "machine": {"cpus": 2, "load_average": 3.0}, "large_scale": 10,
              "runs": runs, "backfill": backfill}
    result["memory_growth"] = bench.memory_growth(runs)
    result["targets"] = bench.targets(result)
    return result


def test_targets_pass_fail_and_not_measured():
    result = _result([_run(1, 200.0), _run(10, 300.0, seconds=(4.0, 2.0, 1.0, 1.0))],
                     backfill={"days": 30, "backfill_rows": 7000, "backfill_s": 70.0, "single_rows": 7000,
                               "single_s": 50.0, "ratio": 1.4})
    verdicts = {t["target"]: (t["value"], t["pass"]) for t in result["targets"]}
    # scale 10 is the large day here: 8 s / 2 s = 4.0 > 1.5
    assert verdicts["large-brand day / (DuckDB read + VADER)"] == (4.0, False)
    assert verdicts["peak RSS, MB"] == (300.0, True)
    # 300 / 200 = 1.5 > 1.3
    assert verdicts["peak RSS growth for 10x input"] == (1.5, False)
    assert verdicts["backfill / one run of the same rows"] == (1.4, False)
    assert verdicts["large-brand day on PostgreSQL recorded"] == (None, None)

    small = _result([_run(1, 200.0)], warehouse="postgres")
    verdicts = {t["target"]: t["pass"] for t in small["targets"]}
    assert verdicts["large-brand day / (DuckDB read + VADER)"] is None
    assert verdicts["peak RSS growth for 10x input"] is None
    assert verdicts["large-brand day on PostgreSQL recorded"] is False


def test_results_schema_round_trips_through_json_and_markdown():
    result = _result([_run(1, 200.0), _run(10, 230.0)])
    bench.check_schema(json.loads(json.dumps(result)))
    text = bench.markdown(result)
    assert "| load b | 300 | 1.00 | 300 | 200 |" in text
    assert "Ratio pipeline / (DuckDB + VADER) = 2.00" in text
    assert "| peak RSS growth for 10x input | 1.30 | 1.15 | pass |" in text  # 230 / 200 = 1.15
    del result["runs"][0]["total"]["peak_rss_mb"]
    del result["backfill"]
    with pytest.raises(ValueError, match="backfill, stages.peak_rss_mb"):
        bench.check_schema(result)


def test_against_pairs_stages_of_the_scales_in_both():
    before = _result([_run(1, 200.0), _run(10, 300.0, seconds=(4.0, 2.0, 3.0, 1.0))])
    now = _result([_run(10, 280.0), _run(100, 500.0)])
    rows = bench.against(now, [before])
    assert [r["stage"] for r in rows] == ["load a", "load b", "marts + KPIs", "report", "whole run"]
    assert {r["scale"] for r in rows} == {10}
    # marts + KPIs: 3.0 s before, 0.5 s now; the whole run 4 + 2 + 3 + 1 = 10 s before, 4 s now
    assert (rows[2]["before_s"], rows[2]["after_s"]) == (3.0, 0.5)
    assert (rows[4]["before_s"], rows[4]["after_s"], rows[4]["before_peak_mb"]) == (10.0, 4.0, 300.0)
    now.update(baselines=["before.json"], against=rows)
    assert "| 10 | whole run | 10.00 | 4.00 | 300 | 280 |" in bench.markdown(now)


def test_a_duckdb_memory_limit_rides_in_the_warehouse_url_and_the_summary(tmp_path):
    assert bench.Warehouse("duckdb").url(tmp_path) is None  # the pipeline's default: CX_HOME/warehouse.duckdb
    assert bench.Warehouse("duckdb", "1GB").url(tmp_path) == f"duckdb:///{tmp_path}/warehouse.duckdb?memory_limit=1GB"
    result = _result([_run(1, 200.0)])
    assert "memory_limit" not in bench.markdown(result)
    assert "DuckDB memory_limit 1GB." in bench.markdown({**result, "duckdb_memory_limit": "1GB"})


def test_cpu_seconds_count_a_helper_alive_and_once_it_has_exited():
    burn = ("import sys, time\nstart = time.process_time()\nwhile time.process_time() - start < 0.5:\n    pass\n"
            "print('done', flush=True)\nsys.stdin.read()\n")
    before = bench.cpu_seconds()
    helper = subprocess.Popen([sys.executable, "-c", burn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert helper.stdout.readline() == "done\n"
    alive = bench.cpu_seconds() - before
    helper.stdin.close()
    helper.wait()
    reaped = bench.cpu_seconds() - before
    # the helper's 0.5 CPU-s (and its interpreter's start) count while it runs and, once reaped, once only
    # (/proc counts in ticks of 10 ms: a little under 0.5 may show)
    assert 0.45 <= alive < 2.0
    assert alive <= reaped < alive + 0.5


def test_the_references_read_every_file_the_pipeline_reads_and_score_its_staged_texts(monkeypatch, tmp_path):
    from datetime import date

    from pipelines.config import load_config
    from pipelines.run import Pipeline
    from pipelines.sample import generate

    day = date(2026, 3, 12)
    cfg = load_config(bench.ROOT / "config" / "sources.yml")
    generate(tmp_path / "landing", day, day, scale=1, tz=cfg.timezone, brand=cfg.brand, competitors=cfg.competitors)
    # a large brand's Typeform file is one JSON object of more than DuckDB's default 16 MB a value
    (typeform,) = (tmp_path / "landing" / "typeform").glob("*/*.json")
    typeform.write_text(json.dumps({**json.loads(typeform.read_text()), "padding": "x" * 2**24}))
    monkeypatch.setenv("CX_HOME", str(tmp_path))
    monkeypatch.delenv("CX_WAREHOUSE_URL", raising=False)
    monkeypatch.delenv("CX_LANDING_DIR", raising=False)
    pipeline = Pipeline.from_env(bench.ROOT / "config" / "sources.yml")
    pipeline.init_db()
    with pipeline.engine.begin() as conn:  # two staged texts and a blank one, which the pipeline does not score
        conn.exec_driver_sql(
            "insert into staging.stg_mention (source, mention_id, created_at, version_at, feedback_date, text, "
            "names_brand, names_competitor, _load_id) select 'x', id, timestamp '2026-03-12 09:00:00', "
            "timestamp '2026-03-12 09:00:00', date '2026-03-12', text, false, false, 'l1' "
            "from (values ('m1', 'Love it'), ('m2', 'Hate it'), ('m3', '  ')) as t(id, text)")
    pipeline.engine.dispose()
    monkeypatch.setenv("CX_CONFIG", str(bench.ROOT / "config" / "sources.yml"))
    reference = bench.child_reference(day)
    # the sample writes one file a day for each of the 13 configured sources, Google Play's in UTF-16
    assert len(cfg.sources) == 13 and reference["files"] == 13
    assert reference["texts"] == 2 and reference["model"] == "cx_vader"


def test_the_stages_child_runs_the_day_as_cx_run_does_a_stage_per_source(monkeypatch, tmp_path):
    from datetime import date

    import sqlalchemy as sa

    from pipelines.config import load_config
    from pipelines.run import Pipeline
    from pipelines.sample import generate
    from pipelines.sources import reader

    day = date(2026, 3, 12)
    config = bench.ROOT / "config" / "sources.yml"
    cfg = load_config(config)
    generate(tmp_path / "landing", day, day, scale=1, tz=cfg.timezone, brand=cfg.brand, competitors=cfg.competitors)
    for name in ("CX_WAREHOUSE_URL", "CX_LANDING_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CX_HOME", str(tmp_path))
    monkeypatch.setenv("CX_CONFIG", str(config))
    named_ahead = []  # the run's loads name the first source's files, then each next one's before the current loads
    monkeypatch.setattr("pipelines.run.parse_ahead", lambda fmt, paths, source, tz: named_ahead.append(source.name))
    monkeypatch.setattr(reader, "parse_ahead", None)  # nothing else may call it
    real_start, real_run, real_marts, ran, slow = Pipeline.start_run, Pipeline.run_day, Pipeline.build_marts, [], []

    def slow_start(self, day):  # a second the run spends before its first progress note
        time.sleep(1.0)
        return real_start(self, day)

    def slow_marts(self, *args, **kwargs):  # a long statement at the start of the mart stage
        with self.engine.connect() as conn:
            began = time.perf_counter()
            conn.exec_driver_sql("select sum(i) from range(100000000) as t(i)").scalar()
            slow.append(time.perf_counter() - began)
        return real_marts(self, *args, **kwargs)

    def timed_run(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return real_run(self, *args, **kwargs)
        finally:
            ran.append(time.perf_counter() - began)

    monkeypatch.setattr(Pipeline, "start_run", slow_start)
    monkeypatch.setattr(Pipeline, "run_day", timed_run)
    monkeypatch.setattr(Pipeline, "build_marts", slow_marts)

    out = bench.child_stages(day, None)

    names = [s.name for s in cfg.sources]
    assert [s["stage"] for s in out["stages"]] == [f"load {n}" for n in names] + ["marts + KPIs", "report"]
    assert named_ahead == names and out["failed"] == []
    assert sum(s["seconds"] for s in out["stages"]) >= ran[0] - 0.002  # the whole run (0.1 ms rounding a stage)
    # the long statement is counted in the stage it ran in; a stage's statements fit in its seconds
    marts, report = out["stages"][-2:]
    assert marts["sql_s"] >= slow[0] - 0.005 > report["sql_s"]
    assert all(0 < s["sql_s"] <= s["seconds"] + 0.005 for s in out["stages"])
    pipeline = Pipeline.from_env(config)
    with pipeline.engine.connect() as conn:
        rows_in = dict(conn.execute(sa.text("select source, rows_in from ops.row_accounting")).all())
        runs = conn.execute(sa.text("select status from ops.runs")).scalars().all()
    pipeline.engine.dispose()
    assert {s["stage"]: s["rows"] for s in out["stages"][:-2]} == {f"load {n}": rows_in[n] for n in names}
    assert runs == ["success"] and out["stages"][-1]["rows"] == sum(rows_in.values())

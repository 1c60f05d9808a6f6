"""End-to-end pipeline throughput: wall time, rows/s and peak RSS per stage, against the unavoidable costs.

For each scale, `cx sample-data --scale N` writes one business day into a fresh temporary CX_HOME;
a child process then runs the day in-process as `cx run` does (Pipeline.run_day, no delivery), a
stage per source's load — extract + validate + load —, then the marts + KPIs and the report,
timing each with perf_counter and reading its peak RSS from /proc/<pid>/status VmHWM (reset
between stages through /proc/<pid>/clear_refs) — its own and its helper processes' (the parser's,
the sentiment pool's, multiprocessing's resource tracker), added up: the figure the targets judge.
Each stage's CPU seconds (the process's threads and its helpers) over its wall seconds say how many
of the cores it kept busy: a stage near 1.0 on a 2-core machine leaves one idle. Its statement
seconds (SQL s) are the time its warehouse statements took: they run one at a time on the stage's
connection, so however the rest is scheduled the stage cannot be shorter than them.
A second child measures the references, in the same run: (a) DuckDB alone reading every landing file
the pipeline read into tables, (b) stock VADER alone scoring the texts it scored (as staged). The
ratio pipeline / (a + b) says how much the pipeline adds to what cannot be avoided.

Results go to benchmarks/results/<date>[-postgres].json and .md, with the targets of issue #8 as
pass/fail (a target whose run was not made is reported as not measured):

    python benchmarks/pipeline.py [--scale 1,10,large] [--warehouse duckdb|postgres] [--days D]
                                  [--duckdb-memory-limit SIZE] [--profile] [--repeat N] [--out DIR]
                                  [--against OLD.json ...]

`--repeat N` measures each scale N times (pipeline and references each time) and keeps the run of
the median ratio, listing every run's seconds and ratio beside it: on a shared machine one run's
wall time can move by a tenth. With `--profile` too, the profile comes from one more run made first,
which is left out of the median (the profiler slows what it watches).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAY = date(2026, 3, 12)  # a Thursday: weekday factors near 1
LARGE_DAY = {"review": 20_000, "mention": 200_000, "survey": 10_000}  # a large brand's day (issue #8)
FAMILY_FORMAT = {"review": "trustpilot_json", "mention": "x_jsonl", "survey": "qualtrics_csv"}
PG_ADMIN_URL = os.environ.get("CX_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_RATIO = 1.5  # large day: pipeline <= 1.5 x (DuckDB read + VADER)
TARGET_RSS_MB = 1536.0  # peak RSS <= 1.5 GB
TARGET_GROWTH = 1.3  # peak RSS at 10x input <= 1.3 x peak RSS at 1x
TARGET_BACKFILL = 1.3  # backfill over D days <= 1.3 x one run of the same rows
MB = 1024.0


# -- pure parts: scales, summaries, targets, Markdown -----------------------------------------------------

def large_scale(day: date = DAY) -> int:
    """The smallest sample-data scale whose expected volumes on `day` reach every LARGE_DAY volume."""
    from pipelines.sample.generate import BASE_VOLUME, WEEKDAY_FACTOR

    return max(math.ceil(n / (BASE_VOLUME[FAMILY_FORMAT[f]] * WEEKDAY_FACTOR[FAMILY_FORMAT[f]][day.weekday()]))
               for f, n in LARGE_DAY.items())


def parse_scales(text: str, large: Callable[[], int] = large_scale) -> list[int]:
    """`1,10,large` → [1, 10, <large scale>]; every scale a positive integer."""
    scales = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        value = large() if part == "large" else int(part)
        if value < 1:
            raise ValueError(f"--scale: {part} is not a positive integer")
        scales.append(value)
    if not scales:
        raise ValueError("--scale: no scale given")
    return scales


def stage_row(stage: str, rows: int, seconds: float, peak_rss_mb: float, helpers_mb: float = 0.0,
              cpu_s: float | None = None, sql_s: float | None = None) -> dict[str, Any]:
    """One stage's figures, rows/s computed from rows and seconds; `peak_rss_mb` counts the helpers'
    `helpers_mb` too; `cpu_s` (helpers included) over `seconds` is how many cores the stage kept busy;
    `sql_s`: the seconds its warehouse statements took, which run one after another."""
    return {"stage": stage, "rows": rows, "seconds": round(seconds, 4),
            "rows_per_s": round(rows / seconds, 1) if seconds > 0 else None, "peak_rss_mb": round(peak_rss_mb, 1),
            "helpers_mb": round(helpers_mb, 1), "cpu_s": None if cpu_s is None else round(cpu_s, 2),
            "cores": round(cpu_s / seconds, 2) if cpu_s is not None and seconds > 0 else None,
            "sql_s": None if sql_s is None else round(sql_s, 4)}


def summarise_run(scale: int, stages: list[dict[str, Any]], reference: dict[str, Any],
                  cores: int | None = None) -> dict[str, Any]:
    """A scale's record: its stages, the whole run (sum of the stage times, rows = rows read by the loads,
    peak = the highest stage peak), the ratio of the run to the references (DuckDB read + VADER) and
    `floor`: the lowest ratio the run's CPU seconds allow on `cores` cores (default this machine's),
    had every core been busy throughout — what no scheduling can beat without less work;
    `loads_spread`, the ratio had only the loads' CPU seconds been spread over every core, the other
    stages (the marts, the report) taking what they took: how far the loads alone could go; and
    `statements`, the floor once each stage takes at least its statements' seconds (`sql_s`: one
    connection runs one statement at a time), None without them."""
    rows = sum(s["rows"] for s in stages if s["stage"].startswith("load "))
    seconds = sum(s["seconds"] for s in stages)
    peak = max(stages, key=lambda s: s["peak_rss_mb"])
    cpus = [s.get("cpu_s") for s in stages]
    cpu = None if None in cpus else sum(cpus)
    sqls = [s.get("sql_s") for s in stages]
    sql = None if None in sqls else sum(sqls)
    total = stage_row("whole run", rows, seconds, peak["peak_rss_mb"], peak.get("helpers_mb", 0.0), cpu, sql)
    unavoidable = reference["duckdb_read_s"] + reference["vader_s"]
    cores = cores or os.cpu_count() or 1
    floor = None if cpu is None or unavoidable <= 0 else {
        "cores": cores, "ratio": round(cpu / cores / unavoidable, 2),
        # the CPU seconds the target allows with every core busy, and the sentiment model's share of them
        "budget_cpu_s": round(TARGET_RATIO * unavoidable * cores, 2),
        "model_share": round(reference["model_s"] / (TARGET_RATIO * unavoidable * cores), 2)
        if reference.get("model_s") is not None else None,
        "loads_spread": round(sum(s["cpu_s"] / cores if s["stage"].startswith("load ") else s["seconds"]
                                  for s in stages) / unavoidable, 2),
        "statements": None if sql is None else round(
            sum(max(s["cpu_s"] / cores, s["sql_s"]) for s in stages) / unavoidable, 2)}
    return {"scale": scale, "stages": stages, "total": total, "reference": reference,
            "ratio": round(seconds / unavoidable, 2) if unavoidable > 0 else None, "floor": floor}


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of repeated runs of one scale, the run of the median ratio (the lower middle of an even
    number), with every run's seconds, CPU seconds and ratio under `repeats`."""
    ranked = sorted(runs, key=lambda r: (r["ratio"] is None, r["ratio"] or 0.0))
    chosen = dict(ranked[(len(ranked) - 1) // 2])
    chosen["repeats"] = [{"seconds": r["total"]["seconds"], "cpu_s": r["total"].get("cpu_s"), "ratio": r["ratio"]}
                         for r in runs]
    return chosen


def memory_growth(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Peak RSS at scale S against 10·S, for the largest such pair measured (at small scales the
    imports' fixed memory hides any growth)."""
    by_scale = {r["scale"]: r["total"]["peak_rss_mb"] for r in runs}
    for small in sorted(by_scale, reverse=True):
        if small * 10 in by_scale:
            big = small * 10
            return {"small_scale": small, "large_scale": big, "small_peak_mb": by_scale[small],
                    "large_peak_mb": by_scale[big], "ratio": round(by_scale[big] / by_scale[small], 2)}
    return None


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue #8's targets, each with the value measured and pass/fail (None: not measured in this run)."""
    large = next((r for r in result["runs"] if r["scale"] >= result["large_scale"]), None)
    peaks = [r["total"]["peak_rss_mb"] for r in result["runs"]]
    growth, backfill = result.get("memory_growth"), result.get("backfill")

    def row(name: str, limit: float, value: float | None, note: str = "") -> dict[str, Any]:
        return {"target": name, "limit": limit, "value": value,
                "pass": None if value is None else value <= limit, "note": note}

    return [
        row("large-brand day / (DuckDB read + VADER)", TARGET_RATIO, large["ratio"] if large else None,
            f"scale {result['large_scale']}" + ("" if large else ": not run")),
        row("peak RSS, MB", TARGET_RSS_MB, max(peaks) if peaks else None,
            f"largest scale run: {max(r['scale'] for r in result['runs'])}" if peaks else ""),
        row("peak RSS growth for 10x input", TARGET_GROWTH, growth["ratio"] if growth else None,
            f"scale {growth['small_scale']} -> {growth['large_scale']}" if growth else "no S and 10*S pair run"),
        row("backfill / one run of the same rows", TARGET_BACKFILL, backfill["ratio"] if backfill else None,
            f"{backfill['days']} days (target: 365 days, mid-size)" if backfill else "--days not given"),
        {"target": "large-brand day on PostgreSQL recorded", "limit": None,
         "value": large["total"]["seconds"] if large and result["warehouse"] == "postgres" else None,
         "pass": (large is not None) if result["warehouse"] == "postgres" else None,
         "note": "" if result["warehouse"] == "postgres" else "run with --warehouse postgres --scale large"},
    ]


def against(result: dict[str, Any], baselines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scale measured in both, each stage's seconds and the run's peak RSS before (a baseline
    results file, e.g. before a change) and now."""
    before = {r["scale"]: r for b in baselines for r in b["runs"]}
    rows = []
    for run in result["runs"]:
        old = before.get(run["scale"])
        if old is None:
            continue
        old_stages = {s["stage"]: s for s in [*old["stages"], old["total"]]}
        for stage in [*run["stages"], run["total"]]:
            if stage["stage"] in old_stages:
                was = old_stages[stage["stage"]]
                rows.append({"scale": run["scale"], "stage": stage["stage"], "before_s": was["seconds"],
                             "after_s": stage["seconds"], "before_peak_mb": was["peak_rss_mb"],
                             "after_peak_mb": stage["peak_rss_mb"]})
    return rows


RESULT_KEYS = {"date", "created_at", "warehouse", "business_day", "machine", "large_scale", "runs",
               "memory_growth", "backfill", "targets"}
RUN_KEYS = {"scale", "stages", "total", "reference", "ratio"}
STAGE_KEYS = {"stage", "rows", "seconds", "rows_per_s", "peak_rss_mb"}


def check_schema(result: dict[str, Any]) -> None:
    """Raise ValueError when `result` lacks a key the results files promise."""
    missing = RESULT_KEYS - result.keys()
    for run in result["runs"]:
        missing |= {f"runs.{k}" for k in RUN_KEYS - run.keys()}
        for stage in [*run["stages"], run["total"]]:
            missing |= {f"stages.{k}" for k in STAGE_KEYS - stage.keys()}
    if missing:
        raise ValueError(f"results lack {', '.join(sorted(missing))}")


def _num(value: float | None, fmt: str = ",.2f") -> str:
    return "–" if value is None else format(value, fmt)


def markdown(result: dict[str, Any]) -> str:
    """The results as a Markdown summary: one table per scale, references, growth, backfill, targets."""
    m = result["machine"]
    lines = [f"# Pipeline benchmark {result['date']} ({result['warehouse']})", "",
             f"Business day {result['business_day']}; {m['cpus']} cores, load average {m['load_average']:.1f} "
             f"at start. Large-brand day = scale {result['large_scale']}."
             + (f" DuckDB memory_limit {result['duckdb_memory_limit']}." if result.get("duckdb_memory_limit") else ""),
             ""]
    for run in result["runs"]:
        ref = run["reference"]
        lines += [f"## Scale {run['scale']}", "",
                  "| stage | rows | seconds | rows/s | peak RSS MB | of which helpers | CPU s | cores busy | SQL s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for s in [*run["stages"], run["total"]]:
            lines.append(f"| {s['stage']} | {s['rows']:,} | {_num(s['seconds'])} | {_num(s['rows_per_s'], ',.0f')} "
                         f"| {_num(s['peak_rss_mb'], ',.0f')} | {_num(s.get('helpers_mb'), ',.0f')} "
                         f"| {_num(s.get('cpu_s'), ',.1f')} | {_num(s.get('cores'))} "
                         f"| {_num(s.get('sql_s'), ',.1f')} |")
        files = f" ({ref['files']} files)" if ref.get("files") else ""
        lines += ["", f"References: DuckDB read{files} {ref['duckdb_read_s']:.2f} s, VADER {ref['vader_s']:.2f} s over "
                  f"{ref['texts']:,} texts. **Ratio pipeline / (DuckDB + VADER) = {_num(run['ratio'])}**", ""]
        if floor := run.get("floor"):
            model = (f" The pipeline's sentiment model ({ref['model']}) alone, serially over the same texts: "
                     f"{ref['model_s']:.2f} CPU-s, {floor['model_share']:.0%} of that budget."
                     if floor.get("model_share") is not None else "")
            lines += [f"Floor: the run's {run['total']['cpu_s']:,.1f} CPU-s on {floor['cores']} cores, every core busy "
                      f"throughout, would still give a ratio of {_num(floor['ratio'])}; the target's "
                      f"{TARGET_RATIO} × the references allows {floor['budget_cpu_s']:,.1f} CPU-s.{model}", ""]
            if floor.get("loads_spread") is not None:
                lines += [f"Had only the loads kept every core busy, the other stages taking what they took: "
                          f"a ratio of {_num(floor['loads_spread'])}.", ""]
            if floor.get("statements") is not None:
                lines += [f"Every core busy, but each stage taking at least the seconds of its warehouse statements "
                          f"(SQL s: one connection runs one at a time): a ratio of {_num(floor['statements'])}.", ""]
        if len(run.get("repeats", [])) > 1:
            lines += [f"Measured {len(run['repeats'])} times, the run of the median ratio shown; every run: "
                      + ", ".join(f"{r['seconds']:.1f} s (ratio {_num(r['ratio'])})" for r in run["repeats"])
                      + ".", ""]
    if result.get("memory_growth"):
        g = result["memory_growth"]
        lines += [f"Memory growth: {g['small_peak_mb']:,.0f} MB at scale {g['small_scale']} → "
                  f"{g['large_peak_mb']:,.0f} MB at scale {g['large_scale']} (×{g['ratio']}).", ""]
    if result.get("backfill"):
        b = result["backfill"]
        lines += [f"Backfill (benchmarks/backfill.py): {b['days']} days, {b['backfill_rows']:,} rows in "
                  f"{b['backfill_s']:.1f} s vs one run of the same files, {b['single_rows']:,} rows in "
                  f"{b['single_s']:.1f} s: ×{b['ratio']}.", ""]
    if result.get("against"):
        lines += [f"## Before and after ({', '.join(result['baselines'])})", "",
                  "| scale | stage | before s | after s | before peak MB | after peak MB |",
                  "|---:|---|---:|---:|---:|---:|"]
        for a in result["against"]:
            lines.append(f"| {a['scale']} | {a['stage']} | {_num(a['before_s'])} | {_num(a['after_s'])} "
                         f"| {_num(a['before_peak_mb'], ',.0f')} | {_num(a['after_peak_mb'], ',.0f')} |")
        lines.append("")
    lines += ["## Targets", "", "| target | limit | measured | verdict | note |", "|---|---:|---:|---|---|"]
    for t in result["targets"]:
        verdict = {True: "pass", False: "FAIL", None: "not measured"}[t["pass"]]
        lines.append(f"| {t['target']} | {_num(t['limit'])} | {_num(t['value'])} | {verdict} | {t['note']} |")
    return "\n".join(lines) + "\n"


# -- measuring, in child processes ----------------------------------------------------------------------

def _processes() -> list[Path]:
    """/proc of this process and of its descendants: the pipeline's helpers and what runs them."""
    import psutil

    return [Path(f"/proc/{p.pid}") for p in [psutil.Process(), *psutil.Process().children(recursive=True)]]


def peak_mb() -> tuple[float, float]:
    """Peak RSS since the last reset, this process's plus its descendants', and the descendants' alone.

    Each process's own peak, added up: pages they share count once per process (an upper bound). A
    helper that starts and exits within one stage would not be counted; the pipeline stops its
    helpers only when the marts start, which the load stages before have measured.
    """
    peaks = []
    for proc in _processes():
        try:
            peaks.append(int(re.search(r"VmHWM:\s+(\d+)", (proc / "status").read_text()).group(1)) / MB)
        except (OSError, AttributeError):
            peaks.append(0.0)  # exited meanwhile
    return sum(peaks), sum(peaks[1:])


def cpu_seconds() -> float:
    """CPU seconds so far of this process (every thread), of its children that have exited, and of
    its live descendants (the helpers, which exit only when the marts stop them)."""
    import psutil

    times = os.times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in psutil.Process().children(recursive=True):
        try:
            cpu = child.cpu_times()
        except psutil.Error:
            continue  # exited meanwhile: counted with the children once reaped
        total += cpu.user + cpu.system
    return total


def reset_peak() -> None:
    """Start a new peak RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    for proc in _processes():
        try:
            (proc / "clear_refs").write_text("5")
        except OSError:
            pass  # the peak then covers every stage so far: an upper bound


def child_stages(day: date, profile: Path | None) -> dict[str, Any]:
    """Run the day in this process as `cx run` does (`Pipeline.run_day`, no delivery); each stage's
    seconds, rows, peak RSS and statement seconds, a stage ending where the run's progress names the
    next, the first beginning when the run does. Statements are timed as SQLAlchemy runs them; the
    text caches' lookups and stores, made on the driver itself, and the commits are not counted."""
    import sqlalchemy as sa

    from pipelines.run import Pipeline

    pipeline = Pipeline.from_env()
    pipeline.init_db()
    sql = [0.0]  # seconds in statements so far

    @sa.event.listens_for(pipeline.engine, "before_cursor_execute")
    def _started(conn: sa.Connection, *_: Any) -> None:
        conn.info["bench_statement"] = perf_counter()

    @sa.event.listens_for(pipeline.engine, "after_cursor_execute")
    def _ended(conn: sa.Connection, *_: Any) -> None:
        sql[0] += perf_counter() - conn.info.pop("bench_statement")

    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    marks: list[tuple[str, float, float, float]] = []  # (stage, its start, CPU seconds then, statement seconds then)
    stages: list[tuple[str, float, float, float, tuple[float, float]]] = []

    def end(now: float, cpu: float) -> None:  # the stage under way ends at `now`, the next one begins there
        stage, start, cpu_then, sql_then = marks[-1]
        stages.append((stage, now - start, cpu - cpu_then, sql[0] - sql_then, peak_mb()))

    def begin(message: str) -> None:
        name = STAGE_NAMES.get(message, message)
        if not marks[-1][0]:  # the first stage began with the run: what the run did before naming it counts
            marks[-1] = (name, *marks[-1][1:])
            return
        now, cpu = perf_counter(), cpu_seconds()
        end(now, cpu)
        reset_peak()
        marks.append((name, now, cpu, sql[0]))

    reset_peak()
    marks.append(("", perf_counter(), cpu_seconds(), sql[0]))  # the first stage, named by the run's first note
    summary = pipeline.run_day(day, deliver=False, progress=begin)
    end(perf_counter(), cpu_seconds())
    if profiler:
        profiler.stop()
        profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    rows = {f"load {r.source}": r.rows_in for r in summary.sources}
    rows_in = sum(rows.values())
    return {"stages": [stage_row(stage, rows.get(stage, rows_in), seconds, *peak, cpu_s=cpu, sql_s=statements)
                       for stage, seconds, cpu, statements, peak in stages],
            "failed": [r.source for r in summary.sources if r.status != "success"]}


STAGE_NAMES = {"marts and KPIs": "marts + KPIs"}  # the run's progress messages -> the stages results name
DUCKDB_READER = {".json": "read_json_auto", ".jsonl": "read_ndjson_auto", ".csv": "read_csv_auto",
                 ".tsv": "read_csv_auto"}


def child_reference(day: date) -> dict[str, Any]:
    """(a) DuckDB alone reading every landing file the pipeline read into tables, one a file; (b) stock
    VADER over the texts the pipeline scored (its staging tables' texts, read after the stages child);
    and, beside them, the pipeline's sentiment model over the same texts on one core."""
    import duckdb
    import sqlalchemy as sa
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from pipelines.run import Pipeline

    pipeline = Pipeline.from_env()
    files = [f for source in pipeline.config.sources for f in source.files(pipeline.settings.landing_dir, day)]
    con = duckdb.connect()
    start = perf_counter()
    if unknown := sorted({f.suffix for f in files} - DUCKDB_READER.keys()):
        raise ValueError(f"no DuckDB reader for landing files ending {', '.join(unknown)}")
    for i, path in enumerate(files):
        options = ""
        with path.open("rb") as head:
            utf16 = head.read(2) in (b"\xff\xfe", b"\xfe\xff")  # Google Play's exports
        if utf16:
            options = ", encoding = 'utf-16'"
        elif path.suffix == ".json":  # a file that is one object (Typeform's) is one JSON value: 16 MB by default
            options = f", maximum_object_size = {max(path.stat().st_size + 1, 16 * 2**20)}"
        con.execute(f"create table file_{i} as select * from {DUCKDB_READER[path.suffix]}(?{options})", [str(path)])
    duckdb_s = perf_counter() - start
    with pipeline.engine.connect() as conn:
        texts = list(conn.execute(sa.text(" union all ".join(
            f"select text from staging.{table} where trim(text) <> ''"
            for table in ("stg_review", "stg_mention", "stg_survey_response")))).scalars())
    pipeline.engine.dispose()
    analyzer = SentimentIntensityAnalyzer()
    start = perf_counter()
    for text in texts:
        analyzer.polarity_scores(text)
    vader_s = perf_counter() - start
    # not a reference: the configured model's own cost over the same texts, in CPU seconds of one core
    model = pipeline.sentiment
    start = process_time()
    model.score(texts)
    model_s = process_time() - start
    return {"duckdb_read_s": round(duckdb_s, 4), "vader_s": round(vader_s, 4), "texts": len(texts),
            "files": len(files), "model": model.name, "model_s": round(model_s, 4)}


# -- driving: data, homes, databases ---------------------------------------------------------------------

def _env(home: Path, warehouse_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")}
    env.update(CX_HOME=str(home), PYTHONPATH=str(ROOT))
    if warehouse_url:
        env["CX_WAREHOUSE_URL"] = warehouse_url
    return env


def _child(mode: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *mode], env=env, cwd=ROOT, capture_output=True,
                         text=True)
    if out.returncode:
        raise RuntimeError(f"the {mode[0]} child failed: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sample(home: Path, start: date, end: date, scale: int, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "pipelines", "sample-data", "--start", start.isoformat(),
                    "--end", end.isoformat(), "--scale", str(scale)], env=env, cwd=ROOT, check=True,
                   capture_output=True)


class Warehouse:
    """A fresh warehouse per measurement: DuckDB in the temporary CX_HOME, or a throwaway PostgreSQL database."""

    def __init__(self, kind: str, memory_limit: str | None = None) -> None:
        self.kind, self.memory_limit, self.databases = kind, memory_limit, []

    def url(self, home: Path) -> str | None:
        if self.kind == "duckdb":  # CX_HOME/warehouse.duckdb, with DuckDB's memory cap when one is given
            limit = self.memory_limit
            return f"duckdb:///{home / 'warehouse.duckdb'}?memory_limit={limit}" if limit else None
        import sqlalchemy as sa

        name = f"cx_bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"create database {name}")
        engine.dispose()
        self.databases.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def template(self, names: tuple[str, ...]) -> str | None:
        """For PostgreSQL, a URL template with {name} whose databases (one per name) exist; None for DuckDB."""
        if self.kind == "duckdb":
            return None
        import sqlalchemy as sa

        prefix = f"cx_bench_{uuid.uuid4().hex[:10]}_"
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in names:
                conn.exec_driver_sql(f"create database {prefix}{name}")
                self.databases.append(prefix + name)
        engine.dispose()
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{prefix}{{name}}"

    def drop(self) -> None:
        if not self.databases:
            return
        import sqlalchemy as sa

        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.databases:
                conn.exec_driver_sql(f"drop database if exists {name} with (force)")
        engine.dispose()


def measure_scale(scale: int, day: date, warehouse: Warehouse, profile: Path | None, repeat: int = 1) -> dict[str, Any]:
    """`repeat` runs of the day at `scale`, each on a fresh warehouse with its own references; the
    run of the median ratio (`median_run`). The profile, if asked, is of the only run, or of one
    more run beforehand when repeating: the profiler's cost stays out of the median."""
    runs = []
    profiled_apart = profile is not None and repeat > 1
    with tempfile.TemporaryDirectory(prefix=f"cx-bench-{scale}-") as tmp:
        home = Path(tmp)
        _sample(home, day, day, scale, _env(home, None))
        for attempt in range(repeat + profiled_apart):
            for stale in home.glob("warehouse.duckdb*"):  # DuckDB's file and its write-ahead log
                stale.unlink()
            env = _env(home, warehouse.url(home))
            traced = profile if profile and attempt == 0 else None
            mode = ["stages", "--day", day.isoformat()] + (["--profile-to", str(traced)] if traced else [])
            run = _child(mode, env)
            if run["failed"]:
                raise RuntimeError(f"scale {scale}: sources failed: {', '.join(run['failed'])}")
            if profiled_apart and attempt == 0:
                continue
            reference = _child(["reference", "--day", day.isoformat()], env)
            runs.append(summarise_run(scale, run["stages"], reference))
    return median_run(runs)


def measure_backfill(days: int, warehouse: Warehouse) -> dict[str, Any]:
    """benchmarks/backfill.py's comparison — a backfill over `days` days against one run of the same
    files — on fresh warehouses of the dialect measured, in the shape of the results file."""
    with tempfile.TemporaryDirectory(prefix="cx-bench-backfill-") as tmp:
        out = Path(tmp) / "backfill.json"
        command = [sys.executable, str(ROOT / "benchmarks" / "backfill.py"), "--days", str(days), "--out", str(out)]
        template = warehouse.template(("reference", "backfill"))
        # backfill.py exits 1 when its ratio misses the target: the figures are what matters here
        done = subprocess.run(command + (["--url", template] if template else []), env=_env(Path(tmp), None),
                              cwd=ROOT, capture_output=True, text=True)
        if not out.exists():
            raise RuntimeError(f"benchmarks/backfill.py failed: {done.stderr.strip()[-2000:]}")
        figures = json.loads(out.read_text())
    return {"days": days, "backfill_rows": figures["rows"], "backfill_s": figures["backfill_seconds"],
            "single_rows": figures["rows_single_run"], "single_s": figures["single_run_seconds"],
            "ratio": round(figures["ratio"], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1,10", help="comma-separated scales; 'large' = the large-brand day")
    parser.add_argument("--warehouse", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--days", type=int, default=0,
                        help="also run benchmarks/backfill.py: a backfill over D days against one run")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profile of the largest scale")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure each scale N times and keep the run of the median ratio")
    parser.add_argument("--duckdb-memory-limit", metavar="SIZE",
                        help="DuckDB's memory_limit setting for the runs (e.g. 1GB), as an operator sets it in the URL")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--against", type=Path, nargs="*", default=[],
                        help="earlier results files: each stage before and now, per scale in both")
    parser.add_argument("--child", choices=("stages", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--day", type=date.fromisoformat, default=DAY, help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "stages":
        print(json.dumps(child_stages(args.day, args.profile_to)))
        return 0
    if args.child == "reference":
        print(json.dumps(child_reference(args.day)))
        return 0

    try:
        scales = parse_scales(args.scale)
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeat < 1:
        parser.error("--repeat: at least 1")
    today = datetime.now(UTC).date().isoformat()
    stem = today + ("" if args.warehouse == "duckdb" else f"-{args.warehouse}")
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "date": today, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "warehouse": args.warehouse,
        "business_day": args.day.isoformat(), "large_scale": large_scale(args.day),
        "duckdb_memory_limit": args.duckdb_memory_limit,
        "machine": {"cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}, "runs": [],
    }
    warehouse = Warehouse(args.warehouse, args.duckdb_memory_limit)
    try:
        for scale in scales:
            profile = args.out / f"{stem}-profile-scale{scale}.txt" if args.profile and scale == max(scales) else None
            run = measure_scale(scale, args.day, warehouse, profile, args.repeat)
            result["runs"].append(run)
            t = run["total"]
            print(f"bench-pipeline scale {scale:>5}: {t['rows']:>9,} rows {t['seconds']:>8.2f} s "
                  f"{t['rows_per_s'] or 0:>9,.0f} rows/s peak {t['peak_rss_mb']:>6,.0f} MB  "
                  f"ratio to DuckDB+VADER {run['ratio']}", flush=True)
        result["backfill"] = measure_backfill(args.days, warehouse) if args.days else None
    finally:
        warehouse.drop()
    result["memory_growth"] = memory_growth(result["runs"])
    result["targets"] = targets(result)
    result["baselines"] = [p.name for p in args.against]
    result["against"] = against(result, [json.loads(p.read_text()) for p in args.against])
    check_schema(result)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(result))
    for t in result["targets"]:
        print(f"bench-pipeline target {t['target']}: {_num(t['value'])} "
              f"({ {True: 'pass', False: 'FAIL', None: 'not measured'}[t['pass']]})")
    print(f"results in {args.out / stem}.json and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

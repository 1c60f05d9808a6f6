"""The nightly run of a brand with history: what one more day costs once a warehouse holds weeks.

Writes sample data for HISTORY + 1 days, backfills the first HISTORY days into a fresh warehouse,
then runs the last day as the nightly run does (each source loaded, then one build of the marts
and KPIs) and times its loads and its build. Late items (1-3 days back) and review edits (up to
14) keep earlier dates dirty, so the build writes about 15 feedback dates (the new one whole, the
others' changed items) and recomputes the kpi dates they reach: the cost a brand pays every night,
which a single-day benchmark on an empty warehouse does not show. The history is written by a
process of its own, so the nightly run's process starts fresh, and the build's peak RSS is that
process's peak during the build (reset before it; helpers included). Prints the figures and writes
them as JSON (default var/benchmarks/nightly.json). Usage: python benchmarks/nightly.py [--history 29] [--scale 1]
(--scale 134 is the mid-size brand of issue #8: about 44,000 rows a day;
--scale 1334 the large day of benchmarks/pipeline.py.)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from time import perf_counter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks.pipeline import peak_mb, reset_peak  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.run import Pipeline  # noqa: E402
from pipelines.sample import generate  # noqa: E402

END = date(2026, 3, 31)


def prepare(work: Path, start: date, scale: int) -> None:
    """Sample data for every day, and the days before END backfilled, in a process of its own: the
    nightly run then starts as fresh a process as it does in production. Writes the backfill's seconds."""
    cfg = load_config(ROOT / "config" / "sources.yml")
    generate(work / "landing", start, END, scale=scale, defects=0.01, seed=11, tz=cfg.timezone,
             brand=cfg.brand, competitors=cfg.competitors)
    pipeline = Pipeline.from_env(ROOT / "config" / "sources.yml")
    pipeline.init_db()
    clock = perf_counter()
    pipeline.backfill(start, END - timedelta(days=1))
    (work / "history_seconds").write_text(str(perf_counter() - clock))
    pipeline.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=29, help="days in the warehouse before the nightly day")
    parser.add_argument("--scale", type=int, default=1, help="sample-data scale (1: about 330 rows a day)")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "benchmarks" / "nightly.json")
    args = parser.parse_args()
    start = END - timedelta(days=args.history)
    with tempfile.TemporaryDirectory(prefix="cx-nightly-") as tmp:
        work = Path(tmp)
        os.environ.update(CX_HOME=str(work / "home"), CX_LANDING_DIR=str(work / "landing"),
                          CX_WAREHOUSE_URL=f"duckdb:///{work / 'warehouse.duckdb'}", CX_PII_KEY="bench-key")
        history = multiprocessing.get_context("spawn").Process(target=prepare, args=(work, start, args.scale))
        history.start()
        history.join()
        if history.exitcode:
            raise SystemExit(f"the history's backfill failed (exit code {history.exitcode})")
        history_s = float((work / "history_seconds").read_text())

        pipeline = Pipeline.from_env(ROOT / "config" / "sources.yml")
        run_id = pipeline.start_run(END)
        clock = perf_counter()
        rows = sum(pipeline.load_source(END, source, run_id).rows_in for source in pipeline.config.sources)
        loads_s = perf_counter() - clock
        with pipeline.engine.connect() as conn:
            dirty = conn.execute(sa.text("select count(*) from ops.dirty_dates")).scalar_one()
        reset_peak()
        clock = perf_counter()
        kpi_rows = pipeline.build_marts(END, run_id)
        build_s = perf_counter() - clock
        build_peak, _ = peak_mb()
        pipeline.finish_run(run_id, "success")
        pipeline.engine.dispose()
    figures = {
        "history_days": args.history, "scale": args.scale, "history_seconds": round(history_s, 2),
        "rows": rows, "loads_seconds": round(loads_s, 2), "dirty_dates": dirty, "build_seconds": round(build_s, 2),
        "build_peak_mb": round(build_peak), "kpi_rows": kpi_rows, "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"nightly day on {args.history} days of history (scale {args.scale}): {rows:,} rows loaded in "
          f"{loads_s:.1f}s; build of {dirty} dirty dates {build_s:.1f}s, peak RSS {build_peak:,.0f} MB "
          f"({kpi_rows:,} kpi rows) -> {args.out}")


if __name__ == "__main__":
    main()

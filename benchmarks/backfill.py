"""Backfill cost against a single run of the same rows (target: ratio <= 1.3).

Writes sample data for DAYS days, then on two fresh warehouses of the same dialect, each case in a
fresh process of its own:
- backfill: `Pipeline.backfill` over the days (chunked loads, marts once per chunk);
- reference: every one of those files loaded by one `run_day` of the last day (items still land
  on their own dates, so both build the same marts and KPIs).
Prints both timings, rows/s, peak RSS (helpers included) and the ratio, and writes them as JSON
(default var/benchmarks/backfill.json). The backfill runs first and its figures are written as soon
as it ends, so that they survive a reference that runs out of memory or time.
Usage: python benchmarks/backfill.py [--days 90] [--scale 1] [--url URL]
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

TARGET = 1.3


def pipeline(home: Path, landing: Path, url: str) -> Pipeline:
    os.environ.update(CX_HOME=str(home), CX_LANDING_DIR=str(landing), CX_WAREHOUSE_URL=url,
                      CX_PII_KEY="bench-key")
    p = Pipeline.from_env(ROOT / "config" / "sources.yml")
    p.init_db()
    return p


def one_day_landing(landing: Path, merged: Path, end: date) -> int:
    """Link every landing file under the folder of `end`, keeping each source's folder.

    A link keeps its file's name start and suffix, with the day inserted before the suffix, so
    that it still matches its source's pattern (`responses_*`, `*.csv`).
    """
    count = 0
    for path in sorted(landing.glob("*/*/*")):
        target = merged / path.parent.parent.name / end.isoformat() / f"{path.stem}-{path.parent.name}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
        count += 1
    return count


def unmatched(landing: Path, merged: Path, start: date, end: date) -> dict[str, tuple[int, int]]:
    """Sources whose pattern finds other files in the one-day landing than over the days:
    {source: (files over the days, files on the one day)}; empty when both runs read the same files."""
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    counts = {s.name: (sum(len(s.files(landing, d)) for d in days), len(s.files(merged, end)))
              for s in load_config(ROOT / "config" / "sources.yml").sources}
    return {name: pair for name, pair in counts.items() if pair[0] != pair[1]}


def rows_by_source(p: Pipeline) -> dict[str, int]:
    """rows_in per source over every run, from ops.row_accounting."""
    with p.engine.connect() as conn:
        return {source: int(n) for source, n in conn.execute(sa.text(
            "select source, sum(rows_in) from ops.row_accounting group by source order by source"))}


def run_case(kind: str, home: Path, landing: Path, url: str, start: date, end: date, out: Path) -> None:
    """One case in this process, its figures written to `out` as JSON: the backfill of start..end
    from `landing`, or (`single`) one run_day of `end` reading the one-day landing."""
    p = pipeline(home, landing, url)
    reset_peak()
    clock = perf_counter()
    if kind == "backfill":
        rows = p.backfill(start, end, progress=lambda state: print(f"  {state}", flush=True)).rows_in
    else:
        rows = sum(s.rows_in for s in p.run_day(end, deliver=False).sources)
    seconds = perf_counter() - clock
    out.write_text(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": round(peak_mb()[0], 1),
                               "by_source": rows_by_source(p), "pid": os.getpid()}))
    p.engine.dispose()


def measure(kind: str, home: Path, landing: Path, url: str, start: date, end: date, work: Path) -> dict:
    """run_case in a fresh process of its own: neither case inherits the other's heap, caches or
    helpers, and each peak RSS is its own (before, the single run followed the backfill in one process)."""
    out = work / f"{kind}.json"
    child = multiprocessing.get_context("spawn").Process(target=run_case,
                                                         args=(kind, home, landing, url, start, end, out))
    child.start()
    child.join()
    if child.exitcode:
        sys.exit(f"the {kind} run failed (exit code {child.exitcode})")
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--scale", type=int, default=1, help="sample-data scale (1: about 330 rows a day)")
    parser.add_argument("--url", help="warehouse URL template with {name}; default a DuckDB file per case")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "benchmarks" / "backfill.json")
    args = parser.parse_args()

    end = date(2026, 3, 31)
    start = end - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="cx-bench-") as tmp:
        work = Path(tmp)
        landing = work / "landing"
        cfg = load_config(ROOT / "config" / "sources.yml")
        written = generate(landing, start, end, scale=args.scale, defects=0.01, seed=11, tz=cfg.timezone,
                           brand=cfg.brand, competitors=cfg.competitors)
        files = one_day_landing(landing, work / "merged", end)
        if missed := unmatched(landing, work / "merged", start, end):
            sys.exit(f"the one-day landing does not hold the same files (over the days, on one day): {missed}")

        def url(name: str) -> str:
            return args.url.format(name=name) if args.url else f"duckdb:///{work / name}.duckdb"

        figures = {"days": args.days, "scale": args.scale, "files": files, "written": written,
                   "target": TARGET, "dialect": (args.url or "duckdb").split(":")[0], "cpu_count": os.cpu_count()}

        def save(**more: object) -> None:
            figures.update(more, load_average=[round(x, 2) for x in os.getloadavg()])
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(figures, indent=2) + "\n")

        back = measure("backfill", work / "back", landing, url("backfill"), start, end, work)
        backfill_s = back["seconds"]
        save(rows=back["rows"], backfill_seconds=round(backfill_s, 2),
             backfill_rows_per_second=round(back["rows"] / backfill_s, 1), backfill_peak_rss_mb=back["peak_mb"],
             pid=os.getpid(), backfill_pid=back["pid"])
        print(f"backfill of {args.days} days: {backfill_s:.1f}s ({figures['backfill_rows_per_second']:,} rows/s, "
              f"peak {figures['backfill_peak_rss_mb']:,.0f} MB)", flush=True)
        single = measure("single", work / "ref", work / "merged", url("reference"), start, end, work)
        single_s, single_rows = single["seconds"], single["rows"]

    ratio = backfill_s / single_s
    save(rows_single_run=single_rows, single_run_seconds=round(single_s, 2),
         single_run_rows_per_second=round(single_rows / single_s, 1),
         single_run_peak_rss_mb=single["peak_mb"], single_run_pid=single["pid"], ratio=round(ratio, 3))
    print(f"single run of the same {single_rows:,} rows: {single_s:.1f}s "
          f"(peak {figures['single_run_peak_rss_mb']:,.0f} MB); ratio {ratio:.2f} "
          f"(target <= {TARGET}) (load average {figures['load_average'][0]}) -> {args.out}")
    if back["by_source"] != single["by_source"]:
        differ = {k: (back["by_source"].get(k), single["by_source"].get(k))
                  for k in back["by_source"].keys() | single["by_source"].keys()
                  if back["by_source"].get(k) != single["by_source"].get(k)}
        sys.exit(f"rows per source differ (backfill, single run): {differ}")
    sys.exit(0 if ratio <= TARGET else 1)


if __name__ == "__main__":
    main()

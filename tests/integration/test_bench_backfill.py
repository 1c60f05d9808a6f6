"""benchmarks/backfill.py end to end on two small days: both cases run, each in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from pipelines.config import PROJECT_ROOT


def test_the_backfill_benchmark_runs_each_case_in_a_fresh_process_on_the_same_rows(tmp_path):
    out = tmp_path / "backfill.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CX_")} | {"PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "benchmarks/backfill.py", "--days", "2", "--out", str(out)],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    # exit 1 is a ratio above the target (two small days may give one) or rows per source that differ,
    # which the rows below catch; anything else is a failure
    assert done.returncode in (0, 1), done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert "rows per source differ" not in done.stderr
    assert figures["rows"] == figures["rows_single_run"] > 0  # the same files read both ways
    assert abs(figures["ratio"] - figures["backfill_seconds"] / figures["single_run_seconds"]) < 0.01
    # the benchmark, the backfill and the single run: three processes
    assert len({figures["pid"], figures["backfill_pid"], figures["single_run_pid"]}) == 3
    assert figures["backfill_peak_rss_mb"] > 0 and figures["single_run_peak_rss_mb"] > 0

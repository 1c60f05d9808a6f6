"""Row-level validation speed per family suite, in rows per second (target: >= 200,000).

Each family's suite validates realistic canonical batches of the parsers' size (BATCH_ROWS) with
about 1% bad rows, exactly as the load does: one GX call per batch, routing by index. The target
is judged on rows per CPU-second of this process, so other work on a shared machine does not count
against it; wall-clock rows/s and the load average are printed beside it. The best of several
repeats is reported. `--strict` exits 1 when a family is below the target.

    python benchmarks/validate_speed.py [--rows N] [--repeat R] [--strict]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from time import perf_counter, process_time

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.sources.base import BATCH_ROWS, conform  # noqa: E402
from pipelines.validate import validate_batch  # noqa: E402

TARGET = 200_000
DAY_END = pd.Timestamp("2026-03-11T00:00:00Z")
WORDS = np.array("the engineer was great but billing took ages and the app keeps crashing after update "
                 "broadband fast friendly fair refund never arrived on hold for an hour".split())


def texts(rng: np.random.Generator, n: int, words: int) -> list[str]:
    picks = WORDS[rng.integers(0, len(WORDS), size=(n, words))]
    return [" ".join(row) for row in picks]


def batch(family: str, n: int, seed: int = 7) -> pd.DataFrame:
    """A canonical batch of `n` rows; 1% carry a defect the suite quarantines."""
    rng = np.random.default_rng(seed)
    at = DAY_END - pd.to_timedelta(rng.integers(60, 86_400, n), unit="s")
    if family == "review":
        df = pd.DataFrame({"review_id": [f"tp{i:09d}" for i in range(n)], "created_at": at,
                           "rating": rng.integers(1, 6, n).astype(float), "title": texts(rng, n, 3),
                           "body": texts(rng, n, 25), "language": "en", "author": "Customer",
                           "product": "Broadband", "location": "Leeds"})
        df.loc[::100, "rating"] = 9.0
    elif family == "mention":
        df = pd.DataFrame({"mention_id": [str(1_790_000_000_000_000_000 + i) for i in range(n)], "created_at": at,
                           "text": texts(rng, n, 18), "language": "en", "author": "u1",
                           "likes": rng.integers(0, 50, n).astype(float)})
        df.loc[::100, "text"] = None
    else:
        df = pd.DataFrame({"response_id": [f"R_{i:09d}" for i in range(n)], "submitted_at": at,
                           "nps": rng.integers(0, 11, n).astype(float), "csat": rng.integers(1, 6, n).astype(float),
                           "comment": texts(rng, n, 12), "journey_stage": "support", "touchpoint": "web",
                           "product": "Broadband", "location": "Leeds", "channel": "email"})
        df.loc[::100, "nps"] = 11.0
    df["_file"] = f"/landing/{family}.dat"
    df["_line"] = np.arange(1, n + 1)
    df["_raw"] = "{}"
    return conform(df, family)


def measure(family: str, rows: int, repeat: int) -> tuple[float, float, int]:
    """(rows per CPU-second, rows per wall-second, rows quarantined), best of `repeat`."""
    df = batch(family, rows)
    validate_batch(df, family, "bench", DAY_END)  # warm-up: suite, GX context
    cpu, wall, bad = float("inf"), float("inf"), 0
    for _ in range(repeat):
        start_cpu, start_wall = process_time(), perf_counter()
        result = validate_batch(df, family, "bench", DAY_END)
        cpu, wall = min(cpu, process_time() - start_cpu), min(wall, perf_counter() - start_wall)
        bad = len(result.quarantined)
    return rows / cpu, rows / wall, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    print(f"validate_batch, {args.rows:,}-row batches, best of {args.repeat}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    below = []
    for family in ("review", "mention", "survey"):
        speed, wall, bad = measure(family, args.rows, args.repeat)
        verdict = "ok" if speed >= TARGET else "BELOW TARGET"
        print(f"bench-validate {family:<8} {speed:>10,.0f} rows/CPU-s  {wall:>10,.0f} rows/s wall  "
              f"({bad:,} quarantined)  {verdict}")
        if speed < TARGET:
            below.append(family)
    return 1 if below and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())

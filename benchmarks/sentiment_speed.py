"""Enrichment throughput: sentiment and themes together, new texts/s and cached texts/s.

What is timed per batch is what the pipeline does to a text: `to_staging`'s scorer (look the
texts up in `ops.sentiment_cache` by md5 in the warehouse, score each new one once — a process
pool on every core above POOL_THRESHOLD texts — and store them) and the KPI stage's tagger (look
them up in `ops.theme_cache`, tag each new one once on every core, store). The texts are customer
verbatims from the sample generator (reviews, survey comments, posts with emoji; ~100
characters), made distinct by an order reference where the templates repeat. Stock VADER (serial,
`polarity_scores`) is measured in the same run as the reference, since the machine is shared and
absolute numbers move; CPU-seconds include the pool's workers, so texts per CPU-second show the
code's own cost whatever else the machine runs.

Targets (sentiment and themes together): ≥ 20,000 new texts/s, ≥ 500,000 cached texts/s.

Usage: python benchmarks/sentiment_speed.py [--texts 100000] [--warehouse-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from datetime import date
from pathlib import Path
from time import perf_counter, process_time

import pandas as pd
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.enrich.sentiment import POOL_THRESHOLD, get_model, score_series  # noqa: E402
from pipelines.enrich.sentiment_cache import WarehouseCache  # noqa: E402
from pipelines.helpers import running  # noqa: E402
from pipelines.kpis.themes import ThemeCache, load_taxonomy, tag  # noqa: E402
from pipelines.sample import verbatims as v  # noqa: E402
from pipelines.warehouse.db import make_engine, migrate  # noqa: E402

NEW_TARGET, CACHED_TARGET = 20_000, 500_000


def sample_texts(n: int, seed: int = 7) -> list[str]:
    """n verbatims from the sample generator: reviews, survey comments and posts (with emoji)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tone = rng.choice(v.TONES)
        topic = v.topic_for(rng, tone)
        slots = v.Slots(rng, brand="Acme", competitor="Globex", product="Home Broadband", service="broadband",
                        device="router", location="Leeds", h="@Acme")
        if i % 3 == 0:
            out.append(" ".join(v.review_text(rng, tone, topic, slots)))
        elif i % 3 == 1:
            out.append(v.survey_comment(rng, tone, topic, slots))
        else:
            out.append(v.post_text(rng, tone, slots))
    return out


def distinct_texts(n: int, seed: int) -> list[str]:
    """n distinct verbatims; a repeated template gets an order reference appended."""
    seen: set[str] = set()
    out = []
    for i, text in enumerate(sample_texts(n, seed)):
        if text in seen:
            text = f"{text} Order ref {seed}-{i}."
        seen.add(text)
        out.append(text)
    return out


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def pool_cpu() -> float:
    """CPU seconds the scoring pool's workers have used so far (Linux /proc); 0 before it starts."""
    pool = running().get("sentiment")
    if pool is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pool._processes:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


class Clock:
    """Wall time and CPU time (this process's threads and the pool's workers) of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = perf_counter(), process_time() + pool_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = perf_counter() - self.wall, process_time() + pool_cpu() - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--warehouse-url", default=None, help="default: a fresh DuckDB file")
    args = parser.parse_args()
    model, taxonomy = get_model("cx_vader"), load_taxonomy()
    reference = distinct_texts(10_000, seed=1)

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    stock = SentimentIntensityAnalyzer()
    serial = []
    for what, run in (
        ("stock VADER, serial (reference)", lambda: [stock.polarity_scores(t) for t in reference]),
        ("vader (fast path), serial", lambda: get_model("vader").score(reference)),
        ("cx_vader, serial", lambda: model.score(reference)),
        ("themes, all cores", lambda: taxonomy.hits(pa.array(reference))),
    ):
        with Clock() as clock:
            run()
        serial.append((what, rate(len(reference), clock.wall), rate(len(reference), clock.cpu)))
    stock_rate = serial[0][1]

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.warehouse_url or f"duckdb:///{tmp}/bench.duckdb")
        migrate(engine)
        batches = []
        for what, seed in (("new, cold pool", 2), ("new, warm pool", 3), ("cached", 3)):
            texts = distinct_texts(args.texts, seed)
            feedback = pd.DataFrame({"feedback_id": [f"f{i}" for i in range(len(texts))],
                                     "feedback_date": date(2026, 1, 1), "text": texts})
            with engine.begin() as conn, Clock() as clock:
                score_series(feedback["text"], model, WarehouseCache(conn, model))
                tag(taxonomy, feedback, ThemeCache(conn, taxonomy))
            batches.append((what, rate(len(texts), clock.wall), rate(len(texts), clock.cpu)))
        engine.dispose()

    print(f"sentiment + themes speed on {os.cpu_count()} cores, {args.texts:,} distinct texts per batch "
          f"(pool above {POOL_THRESHOLD:,}), {engine.dialect.name}; load average {os.getloadavg()[0]:.1f}")
    print(f"  {'':<44}{'texts/s':>12}{'vs stock':>10}{'per CPU s':>12}")
    for what, wall, cpu in serial:
        print(f"  {what:<44}{wall:>12,.0f}{wall / stock_rate:>9.1f}x{cpu:>12,.0f}")
    for what, wall, cpu in batches:
        target = CACHED_TARGET if what == "cached" else NEW_TARGET
        verdict = "meets" if wall >= target else "MISSES"
        print(f"  {'cx_vader + themes + caches, ' + what:<44}{wall:>12,.0f}{wall / stock_rate:>9.1f}x{cpu:>12,.0f}"
              f"  {verdict} {target:,}/s")


if __name__ == "__main__":
    main()

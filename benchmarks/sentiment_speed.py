"""Sentiment throughput: new texts/s and cached texts/s through the staging path's scorer.

What is timed is what `to_staging` does per batch: factorize the texts, hash the distinct ones,
look them up in `ops.sentiment_cache`, score the missing ones (a process pool on every core above
POOL_THRESHOLD texts) and store them in bulk. The texts are customer verbatims from the sample
generator (reviews, survey comments, posts with emoji; ~100 characters), made distinct by an order
reference where the templates repeat. Stock VADER (serial, `polarity_scores`) is measured in the
same run as the reference, since the machine is shared and absolute numbers move.

Targets (sentiment and themes together; this script measures sentiment): ≥ 20,000 new texts/s,
≥ 500,000 cached texts/s.

Usage: python benchmarks/sentiment_speed.py [--texts 100000] [--warehouse-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
from pathlib import Path
from time import perf_counter, process_time

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.enrich.sentiment import POOL_THRESHOLD, get_model, score_series  # noqa: E402
from pipelines.enrich.sentiment_cache import WarehouseCache  # noqa: E402
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


class Clock:
    """Wall time and this process's CPU time (all its threads; not pool workers) of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = perf_counter(), process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = perf_counter() - self.wall, process_time() - self.cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=100_000)
    parser.add_argument("--warehouse-url", default=None, help="default: a fresh DuckDB file")
    args = parser.parse_args()
    model = get_model("cx_vader")
    reference = distinct_texts(10_000, seed=1)

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    stock = SentimentIntensityAnalyzer()
    serial = []
    for what, run in (
        ("stock VADER, serial (reference)", lambda: [stock.polarity_scores(t) for t in reference]),
        ("vader (fast path), serial", lambda: get_model("vader").score(reference)),
        ("cx_vader, serial", lambda: model.score(reference)),
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
            texts = pd.Series(distinct_texts(args.texts, seed))
            with engine.begin() as conn, Clock() as clock:
                score_series(texts, model, WarehouseCache(conn, model))
            batches.append((what, rate(len(texts), clock.wall), rate(len(texts), clock.cpu)))
        engine.dispose()

    print(f"sentiment speed on {os.cpu_count()} cores, {args.texts:,} distinct texts per batch "
          f"(pool above {POOL_THRESHOLD:,}), {engine.dialect.name}; load average {os.getloadavg()[0]:.1f}")
    print(f"  {'':<36}{'texts/s':>12}{'vs stock':>10}{'per CPU s':>12}")
    for what, wall, cpu in serial:
        print(f"  {what:<36}{wall:>12,.0f}{wall / stock_rate:>9.1f}x{cpu:>12,.0f}")
    for what, wall, cpu in batches:
        target = CACHED_TARGET if what == "cached" else NEW_TARGET
        verdict = "meets" if wall >= target else "MISSES"
        cpu_text = f"{cpu:>12,.0f}" if what == "cached" else f"{'(pool)':>12}"
        print(f"  {'cx_vader + cache, ' + what:<36}{wall:>12,.0f}{wall / stock_rate:>9.1f}x{cpu_text}"
              f"  {verdict} {target:,}/s")


if __name__ == "__main__":
    main()

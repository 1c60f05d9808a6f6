"""Theme tagging speed: texts/s of `pipelines.kpis.themes.tag` (no cache) on sample verbatims.

The enrichment budget is 20,000 new texts/s overall (sentiment included); tagging must stay a
small fraction of it. Measured against a naive reference in the same run (Python `re`, one
search per text and theme), so the ratio holds on a busy machine too. Exits 1 when the
vectorised tagger is not at least 10x the reference; the share of the budget is reported.

    python benchmarks/themes_speed.py [--texts N]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from datetime import date
from time import perf_counter

import pandas as pd

from pipelines.kpis.themes import load_taxonomy, tag
from pipelines.sample import verbatims as v

BUDGET_TEXTS_PER_S = 20_000
MIN_SPEEDUP = 10.0


def sample_texts(n: int, seed: int = 7) -> list[str]:
    """Survey comments, review bodies and posts in equal parts, as the sample generator writes them."""
    rng, out = random.Random(seed), []
    for i in range(n):
        tone = rng.choice(v.TONES)
        topic = v.topic_for(rng, tone)
        slots = v.Slots(rng, brand="Acme", location="Leeds", product="Full Fibre 900", service="fibre",
                        device="hub", competitor="Globex", h="@Acme")
        kind = i % 3
        out.append(v.survey_comment(rng, tone, topic, slots) if kind == 0
                   else v.review_text(rng, tone, topic, slots)[1] if kind == 1
                   else v.post_text(rng, tone, slots))
    return out


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = perf_counter()
        fn()
        times.append(perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=60_000)
    args = parser.parse_args()
    taxonomy = load_taxonomy()
    texts = sample_texts(args.texts)
    frame = pd.DataFrame({"feedback_id": [f"f{i}" for i in range(len(texts))],
                          "feedback_date": date(2026, 1, 1), "text": texts})
    seconds = best_of(3, lambda: tag(taxonomy, frame))
    compiled = [re.compile(t.pattern, re.IGNORECASE) for t in taxonomy.themes]
    subset = texts[: max(len(texts) // 6, 1)]
    naive = best_of(1, lambda: [[p.search(x) is not None for p in compiled] for x in subset]) * len(texts) / len(subset)
    rate, share = len(texts) / seconds, BUDGET_TEXTS_PER_S / (len(texts) / seconds)
    tags, _ = tag(taxonomy, frame)
    print(f"themes: {len(taxonomy.themes)} themes, {len(texts):,} texts ({len(set(texts)):,} distinct: each is tagged "
          f"once), {tags.feedback_id.nunique() / len(texts):.1%} tagged, {len(tags) / len(texts):.2f} tags/text")
    print(f"themes: {rate:,.0f} texts/s vectorised; naive per-text re {len(texts) / naive:,.0f} texts/s "
          f"(x{naive / seconds:.1f}, need x{MIN_SPEEDUP:.0f})")
    print(f"themes: {share:.1%} of the {BUDGET_TEXTS_PER_S:,} texts/s enrichment budget")
    return 0 if naive / seconds >= MIN_SPEEDUP else 1


if __name__ == "__main__":
    sys.exit(main())

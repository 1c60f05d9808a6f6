"""Sentiment quality: macro-F1 of `vader` (VADER alone) and `cx_vader` (the default).

Data sets:
- tests/data/cs_sentiment.tsv — customer-service texts labelled positive / neutral / negative by
  hand; three-class macro-F1. The rules and lexicon were developed looking only at the first half
  (rows 1–161, "dev"); the second half ("held out") was not inspected while tuning, so the gap
  between the halves shows how much of the gain is fitted to the dev rows.
- /work/shared/datasets/uci_sentiment (or $CX_UCI_DIR) — Amazon, IMDb and Yelp sentences labelled
  1/0; binary macro-F1 with a score ≥ 0.05 predicted positive and anything else not positive.

Usage: python benchmarks/sentiment_eval.py
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.enrich.sentiment import POSITIVE, get_model, label  # noqa: E402

CS_PATH = ROOT / "tests" / "data" / "cs_sentiment.tsv"
DEV_ROWS = 161  # rows 1..161 were used to develop the rules; the rest are held out
UCI_DIR = Path(os.environ.get("CX_UCI_DIR", "/work/shared/datasets/uci_sentiment"))
MODELS = ("vader", "cx_vader")


def macro_f1(truth: pd.Series, predicted: pd.Series, classes: tuple[str, ...]) -> float:
    """Unweighted mean over classes of F1 = 2·TP / (2·TP + FP + FN)."""
    scores = []
    for c in classes:
        tp = int(((truth == c) & (predicted == c)).sum())
        fp = int(((truth != c) & (predicted == c)).sum())
        fn = int(((truth == c) & (predicted != c)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return float(np.mean(scores))


def load_cs(path: Path = CS_PATH) -> pd.DataFrame:
    """The customer-service set: label, industry, text."""
    return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)


def cs_f1(model_name: str, frame: pd.DataFrame) -> float:
    """Three-class macro-F1 of a model on rows of the customer-service set."""
    scores = pd.Series(get_model(model_name).score(frame["text"].tolist()), index=frame.index)
    return macro_f1(frame["label"], label(scores), ("positive", "neutral", "negative"))


def load_uci(directory: Path = UCI_DIR) -> dict[str, pd.DataFrame]:
    """Each UCI file as a frame of text and label (1 positive, 0 negative)."""
    out = {}
    for path in sorted(directory.glob("*_labelled.txt")):
        rows = [line.rsplit("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if "\t" in line]
        out[path.name.split("_")[0]] = pd.DataFrame({"text": [r[0].strip() for r in rows],
                                                     "label": [r[1].strip() for r in rows]})
    return out


def uci_f1(model_name: str, frame: pd.DataFrame) -> float:
    """Binary macro-F1: score ≥ 0.05 is predicted positive (1), anything else not positive (0)."""
    scores = get_model(model_name).score(frame["text"].tolist())
    predicted = pd.Series(np.where(scores >= POSITIVE, "1", "0"), index=frame.index)
    return macro_f1(frame["label"], predicted, ("1", "0"))


def main() -> None:
    cs = load_cs()
    parts = {"cs all": cs, "cs dev": cs.iloc[:DEV_ROWS], "cs held out": cs.iloc[DEV_ROWS:]}
    uci = load_uci()
    if uci:
        parts |= {f"uci {name}": frame for name, frame in uci.items()}
        parts["uci all"] = pd.concat(list(uci.values()), ignore_index=True)
    print(f"{'data set':<16}{'n':>6}" + "".join(f"{m:>12}" for m in MODELS) + f"{'gain':>9}")
    for name, frame in parts.items():
        f1 = [(cs_f1 if name.startswith("cs") else uci_f1)(m, frame) for m in MODELS]
        print(f"{name:<16}{len(frame):>6}" + "".join(f"{v:>12.3f}" for v in f1) + f"{f1[1] - f1[0]:>+9.3f}")
    if not uci:
        print(f"(UCI sentences not found in {UCI_DIR}; set CX_UCI_DIR)")


if __name__ == "__main__":
    main()

"""Parse cost of dags/cx_nightly.py, as a ratio to importing airflow.sdk alone.

Each sample is a fresh interpreter (the way the dag-processor pays for a cold parse):
  reference: `import airflow.sdk`
  dag:       `import airflow.sdk`, then execute dags/cx_nightly.py
The median of each is taken; the DAG's parse may cost at most LIMIT × the reference.

    python benchmarks/dag_parse.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAG_FILE = ROOT / "dags" / "cx_nightly.py"
LIMIT = 1.5
REFERENCE = "import airflow.sdk"
DAG = f"import airflow.sdk, runpy; runpy.run_path({str(DAG_FILE)!r})"


def sample(code: str) -> float:
    """Wall time of a fresh interpreter running `code`."""
    env = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    sample(DAG)  # warm the OS file cache and __pycache__ for both
    reference, dag = [], []
    for _ in range(args.runs):  # interleaved, so machine load hits both alike
        reference.append(sample(REFERENCE))
        dag.append(sample(DAG))
    ref, total = statistics.median(reference), statistics.median(dag)
    ratio = total / ref
    verdict = "ok" if ratio <= LIMIT else "TOO SLOW"
    print(f"dag_parse: import airflow.sdk {ref:.2f}s, + parse cx_nightly {total:.2f}s, "
          f"ratio {ratio:.2f} (limit {LIMIT}) {verdict}  [median of {args.runs}]")
    return 0 if ratio <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())

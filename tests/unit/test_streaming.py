"""Parsers stream: a file of a quarter of a gigabyte is read in bounded memory.

A child process imports everything first, notes its peak RSS, parses the file batch by batch
and reports the new peak (`resource.getrusage` in the child). What the parse adds must stay far
below the file size: a parser that held the file — or all its rows — would add more than the file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
SIZE = 256 * 1024 * 1024
TEXT = "The engineer was late again &amp; nobody called to say so. " * 40  # ~2.4 KB, a long answer

CHILD = """
import json, resource, sys
from pathlib import Path
from zoneinfo import ZoneInfo
import pandas  # noqa: F401 - imported before the baseline, like the parser's own imports
from pipelines.config import SourceConfig
from pipelines.sources import get_parser
import pipelines.sources.records, pipelines.sources.tabular  # noqa: F401

fmt, family, path, fields = sys.argv[1], sys.argv[2], Path(sys.argv[3]), json.loads(sys.argv[4])
source = SourceConfig(name="big", family=family, format=fmt, path="unused", fields=fields)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = sum(len(batch) for batch in get_parser(fmt)(path, source, ZoneInfo("UTC")))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "before_kb": before, "peak_kb": peak}))
"""


def write_csv(path: Path) -> int:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("id,at,score,comment\r\n")
        rows = 0
        while fh.tell() < SIZE:
            fh.write("".join(f'R{n:09d},2024-05-01 10:00:00,{n % 11},"{TEXT}"\r\n' for n in range(rows, rows + 1000)))
            rows += 1000
    return rows


def write_json(path: Path) -> int:
    """A JSON array of long reviews, read one record at a time."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write("[")
        rows = 0
        while fh.tell() < SIZE:
            fh.write(("," if rows else "") + ",".join(
                json.dumps({"id": f"r{rows + i:09d}", "stars": 1 + (rows + i) % 5, "title": "Late", "text": TEXT,
                            "createdAt": "2024-05-01T10:00:00Z", "consumer": {"displayName": "Ann"}})
                for i in range(1000)))
            rows += 1000
        fh.write("]")
    return rows


@pytest.mark.parametrize(
    ("fmt", "family", "fields", "writer"),
    [("csv", "survey", {"response_id": "id", "submitted_at": "at", "nps": "score", "comment": "comment"}, write_csv),
     ("trustpilot_json", "review", {}, write_json)],
    ids=["csv", "json-array"],
)
def test_a_256_mb_file_parses_in_bounded_memory(tmp_path, fmt, family, fields, writer):
    path = tmp_path / "big"
    rows = writer(path)
    size = path.stat().st_size
    proc = subprocess.run([sys.executable, "-c", CHILD, fmt, family, str(path), json.dumps(fields)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["rows"] == rows
    added = (result["peak_kb"] - result["before_kb"]) * 1024
    # measured: about 80 MB added for a 200 MB file with 4 MiB batches, the same as for a 60 MB one;
    # 105-113 MB for a 256 MB file with 8 MiB batches
    assert added < size / 2, f"parsing added {added / 2**20:.0f} MB for a {size / 2**20:.0f} MB file"

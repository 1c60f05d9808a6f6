"""Files parsed in the helper process give exactly the parser's batches, drift and errors.

The helper is a real process; what it has open is read from /proc.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import psutil
import pytest

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.helpers import running, stop_helpers
from pipelines.sources import get_parser, reader
from pipelines.sources.base import BATCH_BYTES, Drift
from pipelines.sources.reader import HELPER, drop_ahead, parse_ahead, read_ahead

UTC = ZoneInfo("UTC")
POSTS = SourceConfig(name="x", family="mention", format="x_jsonl", path="unused")
SURVEY = SourceConfig(name="nps", family="survey", format="qualtrics_csv", path="unused",
                      fields={"nps": "Q1", "comment": "Q3"})


@pytest.fixture(autouse=True)
def fresh_helpers():
    stop_helpers()
    yield
    stop_helpers()


TEXT = "The engineer never came and nobody called. " * 100  # 4.3 KB
POSTS_IN_FILE = int(2.5 * BATCH_BYTES / len(TEXT))


def posts_file(tmp_path: Path) -> Path:
    """An X export of about two and a half batches (a batch ends after BATCH_BYTES of text)."""
    path = tmp_path / "posts.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(POSTS_IN_FILE):
            fh.write(json.dumps({"id": str(10**18 + i), "text": f"{i} {TEXT}",
                                 "created_at": "2026-03-12T10:00:00.000Z"}) + "\n")
    return path


def helper_pids() -> list[int]:
    return list(running()[HELPER]._processes)


def open_in_helper(path: Path) -> bool:
    return any(Path(f.path) == path for pid in helper_pids() for f in psutil.Process(pid).open_files())


def test_batches_and_drift_are_the_parsers_own_parsed_in_another_process(tmp_path):
    path = posts_file(tmp_path)
    direct_drift: list[Drift] = []
    direct = list(get_parser("x_jsonl")(path, POSTS, UTC, direct_drift))
    drift: list[Drift] = []
    ahead = list(read_ahead("x_jsonl", path, POSTS, UTC, drift))

    assert len(direct) == 3 and len(ahead) == 3
    for mine, theirs in zip(ahead, direct, strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    assert drift == direct_drift and drift  # the export has none of X's other keys: they are missing
    assert helper_pids() and os.getpid() not in helper_pids()


def test_a_parser_error_is_raised_here_with_the_drift_seen_before_it(tmp_path):
    path = tmp_path / "renamed.csv"  # Q1, which the source maps to nps, was renamed
    path.write_text("StartDate,RecordedDate,ResponseId,Q1_renamed,Q3\nStart,Recorded,Response ID,How likely,Why\n"
                    "2026-03-12 10:00:00,2026-03-12 10:05:00,R_1,9,fine\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"renamed\.csv: missing column 'Q1' \(nps\)") as direct_error:
        list(get_parser("qualtrics_csv")(path, SURVEY, UTC, direct_drift := []))
    drift: list[Drift] = []
    with pytest.raises(SourceError) as error:
        list(read_ahead("qualtrics_csv", path, SURVEY, UTC, drift))

    assert str(error.value) == str(direct_error.value)
    assert drift == direct_drift and ("missing", "EndDate") in {(d.change, d.column) for d in drift}


def test_a_file_left_unfinished_is_closed_in_the_helper(tmp_path):
    path = posts_file(tmp_path)
    batches = read_ahead("x_jsonl", path, POSTS, UTC)
    next(batches)
    running()[HELPER].submit(int).result()  # the helper has parsed the second batch and waits
    assert open_in_helper(path)

    batches.close()  # the loader stopped reading (a failed check): the helper must not keep the file
    running()[HELPER].submit(int).result()
    assert not open_in_helper(path)


def test_a_helper_that_dies_fails_only_its_file(tmp_path):
    path = posts_file(tmp_path)
    batches = read_ahead("x_jsonl", path, POSTS, UTC)
    next(batches)
    (pid,) = helper_pids()
    os.kill(pid, signal.SIGKILL)  # the out-of-memory killer's way
    with pytest.raises(SourceError, match=r"posts\.jsonl: the process parsing this file stopped"):
        list(batches)

    assert sum(len(b) for b in read_ahead("x_jsonl", path, POSTS, UTC)) == POSTS_IN_FILE  # a new helper reads the next
    assert helper_pids() != [pid]


def test_a_file_of_one_batch_is_parsed_here(tmp_path):
    path = tmp_path / "few.jsonl"  # nothing to parse ahead of: the helper would only add round trips
    path.write_text(json.dumps({"id": "1", "text": "late again", "created_at": "2026-03-12T10:00:00Z"}) + "\n",
                    encoding="utf-8")
    (batch,) = read_ahead("x_jsonl", path, POSTS, UTC)
    assert batch["mention_id"].tolist() == ["1"] and HELPER not in running()


def test_on_one_core_the_parser_runs_here(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    path = posts_file(tmp_path)
    assert sum(len(b) for b in read_ahead("x_jsonl", path, POSTS, UTC)) == POSTS_IN_FILE
    assert HELPER not in running()


def few_posts(tmp_path: Path, name: str = "few.jsonl") -> Path:
    path = tmp_path / name  # one batch: parsed ahead only while the helper runs
    path.write_text("".join(json.dumps({"id": str(i), "text": f"late again {i}",
                                        "created_at": "2026-03-12T10:00:00Z"}) + "\n" for i in range(3)),
                    encoding="utf-8")
    return path


def test_the_next_source_s_first_batch_is_parsed_ahead_in_the_running_helper(tmp_path, monkeypatch):
    small, big = few_posts(tmp_path), posts_file(tmp_path)
    direct = next(get_parser("x_jsonl")(small, POSTS, UTC, direct_drift := []))
    parse_ahead("x_jsonl", [small], POSTS, UTC)
    assert HELPER not in running()  # a file of one batch starts no helper of its own

    parse_ahead("x_jsonl", [big], POSTS, UTC)  # a larger one does ...
    parse_ahead("x_jsonl", [small], POSTS, UTC)  # ... and then the small one is parsed there too
    running()[HELPER].submit(int).result()  # both first batches are parsed; the larger file is still open
    assert open_in_helper(big)

    def not_here(*args):
        raise AssertionError("parsed in the loader")

    monkeypatch.setattr(reader, "get_parser", not_here)  # only the helper may parse now
    (batch,) = read_ahead("x_jsonl", small, POSTS, UTC, drift := [])
    pd.testing.assert_frame_equal(batch, direct)
    assert drift == direct_drift
    assert sum(len(b) for b in read_ahead("x_jsonl", big, POSTS, UTC)) == POSTS_IN_FILE
    running()[HELPER].submit(int).result()
    assert not open_in_helper(big)  # read to its end there, and closed


def test_a_larger_file_named_ahead_has_its_first_two_batches_parsed_before_its_read(tmp_path, monkeypatch):
    small, big = few_posts(tmp_path), posts_file(tmp_path)
    direct = list(get_parser("x_jsonl")(big, POSTS, UTC))
    parse_ahead("x_jsonl", [big], POSTS, UTC)
    parse_ahead("x_jsonl", [small], POSTS, UTC)
    running()[HELPER].submit(int).result()  # the helper has done what it was sent

    batches = [step.result()[0] for step in reader._AHEAD[big][2]]
    assert [len(b) for b in batches] == [len(direct[0]), len(direct[1])]  # two of its three, in order
    assert len(reader._AHEAD[small][2]) == 1  # a file of one batch: its only batch
    monkeypatch.setattr(reader, "get_parser", lambda *args: pytest.fail("parsed in the loader"))
    for mine, theirs in zip(read_ahead("x_jsonl", big, POSTS, UTC), direct, strict=True):
        pd.testing.assert_frame_equal(mine, theirs)
    assert len(list(read_ahead("x_jsonl", small, POSTS, UTC))) == 1 and reader._AHEAD == {}


def test_a_batch_asked_for_after_a_file_s_end_is_the_end_again(tmp_path):
    path = posts_file(tmp_path)
    helper = reader.helper_pool(HELPER, 1)
    key, steps = reader._start(helper, "x_jsonl", path, POSTS, UTC, 4)  # its three batches, then its end
    assert [step.result()[0] is None for step in steps] == [False, False, False, True]
    again = helper.submit(reader._next, key, "x_jsonl", path, POSTS, UTC).result()
    assert again[0] is None and not open_in_helper(path)  # not opened again and parsed from its first line


def test_a_file_parsed_ahead_and_not_read_is_closed_and_read_afresh_later(tmp_path):
    path = posts_file(tmp_path)
    parse_ahead("x_jsonl", [path], POSTS, UTC)
    running()[HELPER].submit(int).result()
    assert open_in_helper(path)

    drop_ahead("other")  # another source's files stay started
    running()[HELPER].submit(int).result()
    assert open_in_helper(path)
    drop_ahead(POSTS.name)  # the ledger skipped it, or its source failed before reading it
    running()[HELPER].submit(int).result()
    assert not open_in_helper(path)
    assert sum(len(b) for b in read_ahead("x_jsonl", path, POSTS, UTC)) == POSTS_IN_FILE  # from its first line

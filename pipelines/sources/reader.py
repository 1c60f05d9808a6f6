"""Landing files parsed in a helper process, one batch ahead of the loader.

Parsing is Python that holds the GIL; while the helper (`pipelines/helpers.py`) parses batch
n + 1, the loader validates, enriches and writes batch n on the other core. Batches, drift and
errors are the parser's own, in the same order: the helper only moves where the parser runs.
A file of one batch or less is parsed in this process: there is nothing to parse ahead of, and
the helper would only add its round trips (a 90-day backfill reads 1,170 such files). So is every
file where no helper may start (one core, a daemon process).

Across sources, the loader names the next source's first file before it loads the current one
(`parse_ahead`): the helper parses its first batch meanwhile, and its second when the file holds
more than one (`AHEAD_FIRST`: the second was otherwise asked for only when the load took the
first, and the load then waited for it), and `read_ahead` takes them from there. A file of one
batch is parsed ahead too once the helper runs (a large day's other files). The run's first file
is named the same way while the loader imports GX (`Pipeline._load_all`). A file started ahead
and then not read (the file ledger skips it, its source failed first) is closed by `drop_ahead`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.helpers import helper_pool, helpers_allowed, running, stop_helper
from pipelines.memory import release_freed
from pipelines.sources import get_parser
from pipelines.sources.base import BATCH_BYTES, Drift

# in the helper: the files being parsed, by key -> (their batches, the drift seen so far)
_PARSING: dict[int, tuple[Iterator[pd.DataFrame], list[Drift]]] = {}
_keys = itertools.count()
# in the helper: the keys of the files closed, read to their end or left: a batch asked for after is the end
_ENDED: set[int] = set()
# in the loader: files whose first batches the helper was asked for ahead of their read, by path ->
# (their source's name, their key, the batches to come, in order)
_AHEAD: dict[Path, tuple[str, int, list[Future[Step]]]] = {}
HELPER = "reader"
AHEAD_FROM = BATCH_BYTES  # bytes: a smaller file is read in this process
AHEAD_FIRST = 2  # batches of a larger file parsed ahead of its read

Step = tuple[pd.DataFrame | None, list[Drift], BaseException | None]


def read_ahead(fmt: str, path: Path, source: SourceConfig, tz: ZoneInfo,
               drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """The batches of `get_parser(fmt)(path, source, tz, drift)`, parsed a batch ahead in the helper
    (the first one maybe already, `parse_ahead`)."""
    started = _AHEAD.pop(path, None)
    if started is None and (not helpers_allowed() or _one_batch(path)):
        yield from get_parser(fmt)(path, source, tz, drift)
        return
    helper = helper_pool(HELPER, 1)  # one worker: a file's calls run in order
    key, pending = started[1:] if started else _start(helper, fmt, path, source, tz)
    try:
        while True:
            batch, seen, error = pending.pop(0).result()
            if drift is not None:
                drift[:] = seen  # also when the parser failed: the drift is often why
            if error is not None:
                raise error
            if batch is None:
                return
            if not pending:
                pending.append(helper.submit(_next, key, fmt, path, source, tz))
            try:
                yield batch
            except BaseException:  # the loader stopped reading (closed, failed): the helper closes the file
                with suppress(RuntimeError):  # unless the helper is gone, and the file with it
                    helper.submit(_close, key)
                raise
    except BrokenProcessPool as exc:  # the helper died (killed, out of memory): the next file gets a new one
        stop_helper(HELPER)
        raise SourceError(f"{path}: the process parsing this file stopped ({exc})") from exc


def parse_ahead(fmt: str, paths: Iterable[Path], source: SourceConfig, tz: ZoneInfo) -> None:
    """Have the helper parse the first batch of the first of `paths` now, and its second if it is
    larger than a batch, for its `read_ahead` to come: while the loader works on another source, or
    imports GX, the helper's core is idle. Not for a file of one batch while no helper runs: a new
    helper's first batch of a large day's small file took 1.8-2.1 s, its parse here 0.2-0.7 s
    (benchmarks/results/2026-12-06-round22-helper-start-probe.txt)."""
    path = next(iter(paths), None)
    if path is None or path in _AHEAD or not helpers_allowed():
        return
    one_batch = _one_batch(path)
    if one_batch and HELPER not in running():
        return
    try:
        _AHEAD[path] = (source.name, *_start(helper_pool(HELPER, 1), fmt, path, source, tz,
                                             1 if one_batch else AHEAD_FIRST))
    except RuntimeError:  # a broken pool: the read starts the next one
        stop_helper(HELPER)


def drop_ahead(source: str) -> None:
    """Close the files of source `source` started ahead and not read: the helper would keep them open."""
    for path in [path for path, (name, _, _) in _AHEAD.items() if name == source]:
        _, key, _ = _AHEAD.pop(path)
        if HELPER in running():
            with suppress(RuntimeError):  # the helper is gone, and the file with it
                running()[HELPER].submit(_close, key)


def _start(helper: ProcessPoolExecutor, fmt: str, path: Path, source: SourceConfig, tz: ZoneInfo,
           batches: int = 1) -> tuple[int, list[Future[Step]]]:
    key = next(_keys)
    return key, [helper.submit(_next, key, fmt, path, source, tz) for _ in range(batches)]


def _one_batch(path: Path) -> bool:
    try:
        return path.stat().st_size <= AHEAD_FROM
    except OSError:
        return True  # read here: the parser meets the same error and names the file (get_parser)


def _next(key: int, fmt: str, path: Path, source: SourceConfig, tz: ZoneInfo) -> Step:
    """In the helper: the next batch of file `key` (opened on first call), None at its end."""
    if key in _ENDED:
        return None, [], None
    if key not in _PARSING:
        drift: list[Drift] = []
        _PARSING[key] = (get_parser(fmt)(path, source, tz, drift), drift)
    batches, drift = _PARSING[key]
    try:
        return next(batches), list(drift), None
    except StopIteration:
        _close(key)
        return None, list(drift), None
    except Exception as exc:  # returned, not raised: the drift travels with it
        _close(key)
        return None, list(drift), exc


def _close(key: int) -> None:
    """In the helper: close file `key` if it is open, forget it and give back the heap pages its parse freed."""
    _ENDED.add(key)
    if (parsing := _PARSING.pop(key, None)) is not None:
        parsing[0].close()
        release_freed()

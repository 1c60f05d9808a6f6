"""Landing files parsed in a helper process, one batch ahead of the loader.

Parsing is Python that holds the GIL; while the helper (`pipelines/helpers.py`) parses batch
n + 1, the loader validates, enriches and writes batch n on the other core. Batches, drift and
errors are the parser's own, in the same order: the helper only moves where the parser runs.
A file of one batch or less is parsed in this process: there is nothing to parse ahead of, and
the helper would only add its round trips (a 90-day backfill reads 1,170 such files). So is every
file where no helper may start (one core, a daemon process).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from pipelines.config import SourceConfig
from pipelines.errors import SourceError
from pipelines.helpers import helper_pool, helpers_allowed, stop_helper
from pipelines.memory import release_freed
from pipelines.sources import get_parser
from pipelines.sources.base import BATCH_BYTES, Drift

# in the helper: the files being parsed, by key -> (their batches, the drift seen so far)
_PARSING: dict[int, tuple[Iterator[pd.DataFrame], list[Drift]]] = {}
_keys = itertools.count()
HELPER = "reader"
AHEAD_FROM = BATCH_BYTES  # bytes: a smaller file is read in this process

Step = tuple[pd.DataFrame | None, list[Drift], BaseException | None]


def read_ahead(fmt: str, path: Path, source: SourceConfig, tz: ZoneInfo,
               drift: list[Drift] | None = None) -> Iterator[pd.DataFrame]:
    """The batches of `get_parser(fmt)(path, source, tz, drift)`, parsed a batch ahead in the helper."""
    if not helpers_allowed() or _one_batch(path):
        yield from get_parser(fmt)(path, source, tz, drift)
        return
    helper, key = helper_pool(HELPER, 1), next(_keys)  # one worker: a file's calls run in order
    pending = helper.submit(_next, key, fmt, path, source, tz)
    try:
        while True:
            batch, seen, error = pending.result()
            if drift is not None:
                drift[:] = seen  # also when the parser failed: the drift is often why
            if error is not None:
                raise error
            if batch is None:
                return
            pending = helper.submit(_next, key, fmt, path, source, tz)
            try:
                yield batch
            except BaseException:  # the loader stopped reading (closed, failed): the helper closes the file
                with suppress(RuntimeError):  # unless the helper is gone, and the file with it
                    helper.submit(_close, key)
                raise
    except BrokenProcessPool as exc:  # the helper died (killed, out of memory): the next file gets a new one
        stop_helper(HELPER)
        raise SourceError(f"{path}: the process parsing this file stopped ({exc})") from exc


def _one_batch(path: Path) -> bool:
    try:
        return path.stat().st_size <= AHEAD_FROM
    except OSError:
        return True  # read here: the parser meets the same error and names the file (get_parser)


def _next(key: int, fmt: str, path: Path, source: SourceConfig, tz: ZoneInfo) -> Step:
    """In the helper: the next batch of file `key` (opened on first call), None at its end."""
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
    """In the helper: close file `key`, forget it and give back the heap pages its parse freed."""
    batches, _ = _PARSING.pop(key)
    batches.close()
    release_freed()

"""Fault injection for crash tests: stop a real `cx` process at a named point of a run.

With `CX_PAUSE_AT=<point>` set, reaching that point writes `$CX_HOME/paused-<point>` and blocks,
so a test can SIGKILL the process exactly there (e.g. in the middle of a load transaction) and
check that nothing partial was committed. Unset (always, in production) it does nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def pause_point(name: str, home: Path) -> None:
    """Block here for good when CX_PAUSE_AT names this point (see the module docstring)."""
    if os.environ.get("CX_PAUSE_AT") != name:
        return
    home.mkdir(parents=True, exist_ok=True)
    (home / f"paused-{name}").write_text(str(os.getpid()))
    while True:
        time.sleep(60)

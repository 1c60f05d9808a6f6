"""Helper processes (pipelines/helpers.py) are real processes: started, stopped, and never left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from pipelines.helpers import PARENT_CHECK_SECONDS

ROOT = Path(__file__).resolve().parents[2]

# a process that starts a helper, prints its pid and dies the way the out-of-memory killer kills
KILLED = """
import os, signal, sys
from pathlib import Path
from pipelines.helpers import helper_pool
pool = helper_pool("probe", 1)
pool.submit(int).result()
Path(sys.argv[1]).write_text(str(*pool._processes))
os.kill(os.getpid(), signal.SIGKILL)
"""


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_helper_exits_when_the_process_that_started_it_is_killed(tmp_path):
    pid_file = tmp_path / "helper.pid"  # not a pipe: the helper holds what it inherited open
    subprocess.run([sys.executable, "-c", KILLED, str(pid_file)], cwd=ROOT, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10 * PARENT_CHECK_SECONDS
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not gone(pid):
        os.kill(pid, 9)  # leave nothing behind for the next test
        raise AssertionError(f"helper {pid} outlived the process that started it")

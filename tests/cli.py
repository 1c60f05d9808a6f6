"""The `cx` command run as a user runs it: a subprocess of this interpreter, from the project root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CX = [sys.executable, "-m", "pipelines"]
ROOT = Path(__file__).parents[1]


def cx(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `cx *args` with `env`; with `check`, fail the test (showing its output) unless it exits 0."""
    proc = subprocess.run([*CX, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc

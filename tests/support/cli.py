"""Run the ``energymon`` command as a user would: the installed console script in a real
subprocess, output captured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The console script pip installed beside this interpreter (.venv/bin/energymon)
ENERGYMON = Path(sys.executable).with_name("energymon")


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``energymon ARGS`` with ``env`` on top of this process's environment; never raises on a
    non-zero exit (the caller asserts the code it expects)."""
    return subprocess.run(
        [str(ENERGYMON), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

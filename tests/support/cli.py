"""Run the ``energymon`` command as a user would: a real subprocess, output captured."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``energymon ARGS`` with ``env`` on top of this process's environment; never raises on a
    non-zero exit (the caller asserts the code it expects)."""
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

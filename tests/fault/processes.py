"""Long-running commands as real processes, and the ways a signal reaches them.

Each command runs as ``python -m services.cli ...`` in a session of its own, so that a signal to
its process group (as ``timeout``, a terminal's Ctrl-C or ``kill -- -PGID`` send it) reaches it
and its children but not the test run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import wait_for

SIGTERM_EXIT = 128 + signal.SIGTERM  # what a second signal or the watchdog exits with
KILLED_BY_SIGTERM = -signal.SIGTERM  # Popen's code for the default action (no handler yet)


def sigterm_caught(pid: int) -> bool:
    """Whether the process has a SIGTERM handler installed right now (Linux: SigCgt)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.HTTPError):
        return False


@dataclass
class Command:
    """A long-running command: its arguments, its environment, and how to tell it is up."""

    args: list[str]
    env: dict[str, str]
    ready: Callable[[Running], bool]
    startup_s: float = 2.0  # about how long it takes to be up on a busy machine
    ready_s: float = 60.0  # how long it may take before it is taken for hung


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, ready: Callable[[Running], bool], timeout: float = 60) -> None:
        def up() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return ready(self)

        wait_for(up, timeout, f"{self.log_path.stem} to be up")

    def wait_exit(self, timeout: float) -> int | None:
        """The exit code, or None (and the process group killed) when it outlives ``timeout``."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.proc.wait(10)


def launch(command: Command, log_path: Path) -> Running:
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *command.args],
            env={**os.environ, **command.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Running(proc, log_path)


# How a SIGTERM (or two) reaches the process. Back to back, the second is often merged into the
# first by the kernel (a signal already pending is not queued twice); often it is not.
def sigterm(pid: int, _rng: random.Random) -> None:
    os.kill(pid, signal.SIGTERM)


def sigterm_twice(pid: int, rng: random.Random) -> None:
    """Two SIGTERMs up to 200 microseconds apart: the second lands while the first is handled."""
    os.kill(pid, signal.SIGTERM)
    _spin(rng.uniform(0, 200e-6))
    os.kill(pid, signal.SIGTERM)


def _spin(seconds: float) -> None:
    """Busy-wait: a sleep would round microseconds up to a scheduler tick."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def sigterm_then_group(pid: int, _rng: random.Random) -> None:
    """What ``timeout`` does: the child, then its whole process group."""
    os.kill(pid, signal.SIGTERM)
    os.killpg(pid, signal.SIGTERM)


def sigterm_again_while_stopping(pid: int, rng: random.Random) -> None:
    """An impatient operator: a second SIGTERM a random moment into the shutdown."""
    os.kill(pid, signal.SIGTERM)
    time.sleep(rng.uniform(0, 0.3))
    os.kill(pid, signal.SIGTERM)  # never an error: until the test reaps it, it is a zombie


Sender = Callable[[int, random.Random], None]

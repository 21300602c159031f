"""A pseudo-terminal pair made by socat: two linked serial ports for serial-line tests."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.services import wait_for


@dataclass(frozen=True)
class PtyPair:
    """Two linked pseudo-terminals: bytes written to one end are read at the other."""

    server_end: str
    poller_end: str


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed: it makes the pseudo-terminal pair for serial tests")
    a, b = tmp_path / "a", tmp_path / "b"
    with (tmp_path / "socat.log").open("wb") as log:
        proc = subprocess.Popen(
            [socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdout=log,
            stderr=log,
        )
    try:
        wait_for(lambda: (a.exists() and b.exists()) or proc.poll() is not None, 10, "socat's ptys")
        if proc.poll() is not None:
            pytest.fail(f"socat exited: {(tmp_path / 'socat.log').read_text()}", pytrace=False)
        yield PtyPair(str(a), str(b))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

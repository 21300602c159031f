"""The stop event under signals at random moments (tests/fault/stop_stress.py, in a child
process): a hundred rounds of two to four signals a few microseconds apart, sent by another
process while the main thread waits on the event and logs, never deadlock; each round's first
signal sets the event and each later one asks for the forced exit, with one well-formed log
line each."""

from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
ROUNDS = 100


def _stress(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault.stop_stress", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_a_hundred_rounds_of_signals_at_random_moments_never_deadlock_the_stop_event() -> None:
    seed = int(os.environ.get("ENERGYMON_TEST_SEED") or random.randrange(2**32))
    print(f"ENERGYMON_TEST_SEED={seed}")
    proc = _stress("--rounds", str(ROUNDS), "--seed", str(seed))
    try:
        out, err = (b.decode() for b in proc.communicate(timeout=60))
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode()
        raise AssertionError(f"deadlocked after {out.count('round')} rounds") from None
    assert proc.returncode == 0, err[-3000:]
    summary = json.loads(out.splitlines()[-1])
    assert summary["rounds"] == ROUNDS
    assert summary["max_latency_s"] < 1.0
    # every line whole, the service's own and the handler's, however they met
    events = [json.loads(line)["event"] for line in err.splitlines() if line]
    assert events.count("stop requested") == ROUNDS
    forced = events.count("second signal: exiting without a clean shutdown")
    assert forced == summary["forced"]
    assert forced > 0  # second signals did land while the first one's round was going on


def test_the_stress_deadlocks_the_handler_the_services_used_to_have() -> None:
    """The same rounds against ``threading.Event`` (the old ``stop_on_signals``): a round that
    stops making progress is the deadlock this guards against; its absence would mean the stress
    no longer reaches the moments that matter."""
    proc = _stress("--rounds", "1000", "--event", "threading")
    assert proc.stdout is not None
    progress = select.poll()
    progress.register(proc.stdout.fileno(), select.POLLIN)
    try:
        while proc.poll() is None:
            if not progress.poll(3000):
                return  # no round finished for 3 s: stuck in a handler, deadlocked
            os.read(proc.stdout.fileno(), 65536)
    finally:
        proc.kill()
        proc.wait()
    raise AssertionError(f"1000 rounds ran without a deadlock (exit {proc.returncode})")

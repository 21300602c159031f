"""Signals at random moments while the main thread waits on, and logs around, a stop event.

Each round installs a handler on SIGUSR1; then a helper process (another process, as ``timeout``
or the kubelet is: a thread of this one would need this process's GIL to send, which keeps its
signals away from the moments that matter) sends two to four signals a random few microseconds
apart, while the main thread keeps calling ``stop.wait()`` with short timeouts and logging through
structlog (whose print lock a handler that logs could deadlock on).

Run in a child process by ``test_stop_event_stress.py``, so that a deadlock costs a timeout, not
the test run: ``python -m tests.fault.stop_stress --rounds 100`` prints ``round N`` as each round
ends, then a JSON summary, on stdout. ``--event threading`` runs the handler every service used
to have (``threading.Event.set()``), which deadlocks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from services.core.lifecycle import StopEvent, handle_signals
from services.core.logging import configure_logging, get_logger

log = get_logger(__name__)

# Reads "pid delay_us gap_us..." lines; sends SIGUSR1 to pid after each gap; answers "sent".
SENDER = """
import os, signal, sys, time
for line in sys.stdin:
    pid, *waits = line.split()
    for wait_us in waits:
        time.sleep(float(wait_us) / 1e6)
        os.kill(int(pid), signal.SIGUSR1)
    print("sent", flush=True)
"""


def one_round(
    rng: random.Random, event: str, sender: subprocess.Popen[str], stats: dict[str, Any]
) -> None:
    forced: list[int] = []
    stop: threading.Event
    if event == "threading":
        stop = threading.Event()

        def handler(_signum: int, _frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGUSR1, handler)
    else:
        stop = StopEvent()
        handle_signals(stop, signals=(signal.SIGUSR1,), exit_process=forced.append)
    assert sender.stdin is not None
    assert sender.stdout is not None
    waits_us = [rng.uniform(0, 2000)] + [rng.uniform(0, 300) for _ in range(rng.randint(1, 3))]
    sender.stdin.write(f"{os.getpid()} {' '.join(f'{w:.1f}' for w in waits_us)}\n")
    sender.stdin.flush()
    started = time.monotonic()
    done = seen_at = None
    poller = select.poll()
    poller.register(sender.stdout.fileno(), select.POLLIN)
    while done is None or seen_at is None:
        # mostly wait(0): back to back, those keep threading.Event's lock held most of the time
        if stop.wait(0 if rng.random() < 0.9 else 0.0005) and seen_at is None:
            seen_at = time.monotonic()
        if rng.random() < 0.1:
            log.debug("waiting", round=stats["rounds"])
        if done is None and poller.poll(0):
            done = sender.stdout.readline()
        if time.monotonic() - started > 5:
            raise RuntimeError("the stop event was not set within 5 s of its signals")
    stats["rounds"] += 1
    stats["sent"] += len(waits_us)
    stats["forced"] += len(forced)
    stats["max_latency_s"] = max(stats["max_latency_s"], seen_at - started)
    assert all(code == 128 + signal.SIGUSR1 for code in forced), forced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--event", choices=("stop", "threading"), default="stop")
    args = parser.parse_args(argv)
    configure_logging("DEBUG", "json")
    rng = random.Random(args.seed)
    stats: dict[str, Any] = {"rounds": 0, "sent": 0, "forced": 0, "max_latency_s": 0.0}
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        for n in range(args.rounds):
            one_round(rng, args.event, sender, stats)
            print(f"round {n}", flush=True)
    finally:
        sender.kill()
        sender.wait()
    print(json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The API's snapshot cache: TTL, stale-while-revalidate, single flight."""

from __future__ import annotations

import threading

from services.api.snapshots import Snapshots
from services.core.embedded import wait_for


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """Counts its calls; with ``gate``, each call (after the first) waits until the test opens
    it, so the test decides when a refresh finishes."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.started = 0
        self.gate = gate
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.started += 1
            first = self.started == 1
        if self.gate is not None and not first:
            assert self.gate.wait(10)
        with self._lock:
            self.calls += 1
            return self.calls


def test_an_answer_is_reused_within_its_ttl() -> None:
    snaps, compute = Snapshots(60), Counter()
    assert snaps.get("k", compute).value == 1
    assert snaps.get("k", compute).value == 1
    assert snaps.get("other", compute).value == 2


def test_a_stale_answer_is_served_while_one_refresh_runs() -> None:
    clock, gate = Clock(), threading.Event()
    snaps, compute = Snapshots(30, clock=clock), Counter(gate)
    assert snaps.get("k", compute).value == 1
    clock.now += 45  # stale, within twice the TTL
    # the refresh is held at the gate: every caller still gets the stale answer at once
    assert [snaps.get("k", compute).value for _ in range(5)] == [1] * 5
    wait_for(lambda: compute.started == 2, 10, "the one background refresh to start")
    gate.set()
    wait_for(lambda: compute.calls == 2, 10, "the refresh to finish")
    assert snaps.get("k", compute).value == 2  # one refresh, not five
    assert compute.started == 2


def test_an_answer_older_than_twice_the_ttl_is_computed_in_the_request() -> None:
    clock = Clock()
    snaps, compute = Snapshots(30, clock=clock), Counter()
    snaps.get("k", compute)
    clock.now += 61
    assert snaps.get("k", compute).value == 2


def test_concurrent_first_requests_compute_once() -> None:
    release = threading.Event()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        assert release.wait(10)  # every other request arrives while this one computes
        return len(calls)

    snaps = Snapshots(60)
    values: list[int] = []
    threads = [
        threading.Thread(target=lambda: values.append(snaps.get("k", compute).value))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    wait_for(lambda: len(calls) == 1, 10, "the first computation")
    release.set()
    for t in threads:
        t.join(10)
    assert values == [1] * 8
    assert len(calls) == 1


def test_ttl_zero_computes_every_time() -> None:
    snaps, compute = Snapshots(0), Counter()
    assert [snaps.get("k", compute).value for _ in range(3)] == [1, 2, 3]


def test_a_snapshot_memoises_what_is_derived_from_it() -> None:
    snap = Snapshots(60).get("k", lambda: [1, 2])
    made: list[int] = []
    for _ in range(3):
        snap.memo("sum", lambda v: made.append(1) or sum(v))
    assert snap.memo("sum", sum) == 3
    assert made == [1]

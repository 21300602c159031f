"""The API's snapshot cache: TTL, stale-while-revalidate, single flight."""

from __future__ import annotations

import threading
import time

from services.api.snapshots import Snapshots


class Counter:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls = 0
        self.delay_s = delay_s
        self._lock = threading.Lock()

    def __call__(self) -> int:
        time.sleep(self.delay_s)
        with self._lock:
            self.calls += 1
            return self.calls


def test_an_answer_is_reused_within_its_ttl() -> None:
    snaps, compute = Snapshots(60), Counter()
    assert snaps.get("k", compute).value == 1
    assert snaps.get("k", compute).value == 1
    assert snaps.get("other", compute).value == 2


def test_a_stale_answer_is_served_while_one_refresh_runs() -> None:
    snaps, compute = Snapshots(0.5), Counter(delay_s=0.3)
    assert snaps.get("k", compute).value == 1
    time.sleep(0.6)  # stale, within twice the TTL (0.4 s of slack for a busy machine)
    started = time.monotonic()
    assert [snaps.get("k", compute).value for _ in range(5)] == [1] * 5
    assert time.monotonic() - started < 0.2  # nobody waited for the refresh (0.3 s)
    time.sleep(0.5)
    assert snaps.get("k", compute).value == 2  # one refresh, not five
    assert compute.calls == 2


def test_an_answer_older_than_twice_the_ttl_is_computed_in_the_request() -> None:
    snaps, compute = Snapshots(0.1), Counter()
    snaps.get("k", compute)
    time.sleep(0.25)
    assert snaps.get("k", compute).value == 2


def test_concurrent_first_requests_compute_once() -> None:
    snaps, compute = Snapshots(60), Counter(delay_s=0.2)
    values: list[int] = []
    threads = [
        threading.Thread(target=lambda: values.append(snaps.get("k", compute).value))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert values == [1] * 8
    assert compute.calls == 1


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

"""The login throttle's pure core, on a clock passed in as ``now``."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.api.throttle import (
    Attempt,
    LoginThrottle,
    SlidingWindow,
    Throttled,
    _digest,
    address_key,
)

WINDOW_S = 900.0


def _throttle(per_username: int = 3, per_address: int = 6, capacity: int = 1000) -> LoginThrottle:
    return LoginThrottle(
        per_username=per_username, per_address=per_address, window_s=WINDOW_S, capacity=capacity
    )


def _fail(throttle: LoginThrottle, user: str, host: str, now: float) -> Attempt | Throttled:
    attempt = throttle.begin(user, host, now)
    if isinstance(attempt, Attempt):
        throttle.failed(attempt, now)
    return attempt


@pytest.mark.parametrize(
    ("attempts", "now", "wait"),
    [
        ([], 0.0, 0.0),
        ([0.0, 100.0], 150.0, 0.0),  # under the limit
        ([0.0, 100.0, 200.0], 200.0, 700.0),  # full: until the oldest leaves, at 900
        ([0.0, 100.0, 200.0], 899.0, 1.0),
        ([0.0, 100.0, 200.0], 900.0, 0.0),  # the oldest is out at exactly window_s
        ([0.0, 100.0, 200.0, 900.0], 950.0, 50.0),  # sliding: now 100 is the oldest of three
        ([0.0, 100.0, 200.0, 900.0], 1000.0, 0.0),
    ],
)
def test_the_wait_is_until_the_oldest_of_the_last_limit_attempts_leaves_the_window(
    attempts: list[float], now: float, wait: float
) -> None:
    table = SlidingWindow(3, WINDOW_S, 100)
    for at in attempts:
        table.add(b"k", at)
    assert table.wait(b"k", now) == pytest.approx(wait)


def test_a_username_over_its_limit_is_refused_until_the_window_passes() -> None:
    throttle = _throttle()
    statuses = [_fail(throttle, "alice", "203.0.113.7", t) for t in (0.0, 10.0, 20.0)]
    assert all(isinstance(s, Attempt) for s in statuses)
    assert throttle.begin("alice", "203.0.113.7", 30.0) == Throttled("username", 870.0)
    # the refusal does not depend on the password: the password is never looked at
    assert throttle.begin("alice", "198.51.100.1", 899.0) == Throttled("username", 1.0)
    assert isinstance(throttle.begin("alice", "203.0.113.7", 900.0), Attempt)


def test_refused_attempts_neither_extend_the_wait_nor_use_up_the_address() -> None:
    throttle = _throttle(per_username=2, per_address=3)
    for t in (0.0, 1.0):
        _fail(throttle, "alice", "203.0.113.7", t)
    for t in range(2, 500):
        assert isinstance(throttle.begin("alice", "203.0.113.7", float(t)), Throttled)
    assert throttle.begin("alice", "203.0.113.7", 500.0) == Throttled("username", 400.0)
    assert isinstance(throttle.begin("bob", "203.0.113.7", 500.0), Attempt)  # address at 3 of 3


def test_another_username_is_not_affected_until_the_address_limit() -> None:
    throttle = _throttle(per_username=3, per_address=5)
    for t in (0.0, 1.0, 2.0):
        _fail(throttle, "alice", "203.0.113.7", t)
    assert isinstance(_fail(throttle, "bob", "203.0.113.7", 3.0), Attempt)
    assert isinstance(_fail(throttle, "carol", "203.0.113.7", 4.0), Attempt)
    assert throttle.begin("dave", "203.0.113.7", 5.0) == Throttled("address", 895.0)
    assert isinstance(throttle.begin("dave", "198.51.100.1", 5.0), Attempt)  # other address


def test_the_refusal_names_the_limit_that_lasts_longest() -> None:
    throttle = _throttle(per_username=2, per_address=2)
    _fail(throttle, "alice", "203.0.113.7", 0.0)
    _fail(throttle, "alice", "203.0.113.7", 100.0)
    assert throttle.begin("alice", "203.0.113.7", 200.0) == Throttled("username", 700.0)
    throttle = _throttle(per_username=2, per_address=2)
    _fail(throttle, "alice", "198.51.100.1", 0.0)
    _fail(throttle, "alice", "203.0.113.7", 50.0)
    _fail(throttle, "bob", "203.0.113.7", 100.0)  # alice full until 900, the address until 950
    assert throttle.begin("alice", "203.0.113.7", 200.0) == Throttled("address", 750.0)


def test_a_refusal_by_one_limit_counts_nothing_against_the_other() -> None:
    throttle = _throttle(per_username=1, per_address=2)
    _fail(throttle, "alice", "203.0.113.7", 0.0)
    for t in range(1, 10):
        throttle.begin("alice", "198.51.100.1", float(t))  # refused by the username limit
    assert isinstance(_fail(throttle, "bob", "198.51.100.1", 10.0), Attempt)
    assert isinstance(_fail(throttle, "carol", "198.51.100.1", 11.0), Attempt)


def test_a_success_clears_the_usernames_failures_but_not_the_addresses_other_failures() -> None:
    throttle = _throttle(per_username=3, per_address=4)
    _fail(throttle, "alice", "203.0.113.7", 0.0)
    _fail(throttle, "alice", "203.0.113.7", 1.0)
    ok = throttle.begin("alice", "203.0.113.7", 2.0)
    assert isinstance(ok, Attempt)
    throttle.succeeded(ok)
    for t in (3.0, 4.0):  # the username starts again from zero ...
        assert isinstance(_fail(throttle, "alice", "203.0.113.7", t), Attempt)
    # ... the address still holds its four failures; the success itself was withdrawn
    assert throttle.begin("bob", "203.0.113.7", 5.0) == Throttled("address", 895.0)


def test_an_attempt_counts_from_admission_so_concurrent_guesses_cannot_overrun() -> None:
    throttle = _throttle(per_username=3)
    pending = [throttle.begin("alice", "203.0.113.7", 0.0) for _ in range(3)]
    assert all(isinstance(p, Attempt) for p in pending)
    assert isinstance(throttle.begin("alice", "203.0.113.7", 0.0), Throttled)


def test_an_abandoned_attempt_is_withdrawn_from_both_limits() -> None:
    throttle = _throttle(per_username=1, per_address=1)
    attempt = throttle.begin("alice", "203.0.113.7", 0.0)
    assert isinstance(attempt, Attempt)
    throttle.abandoned(attempt)  # e.g. the database was unreachable
    assert isinstance(throttle.begin("alice", "203.0.113.7", 1.0), Attempt)


def test_failed_reports_the_limits_reached_once_full() -> None:
    throttle = _throttle(per_username=2, per_address=10)
    first = throttle.begin("alice", "203.0.113.7", 0.0)
    second = throttle.begin("alice", "203.0.113.7", 1.0)
    assert isinstance(first, Attempt)
    assert isinstance(second, Attempt)
    assert throttle.failed(first, 1.0) == [Throttled("username", 899.0)]  # second still counts
    assert throttle.failed(second, 2.0) == [Throttled("username", 898.0)]
    third = throttle.begin("bob", "203.0.113.7", 3.0)
    assert isinstance(third, Attempt)
    assert throttle.failed(third, 3.0) == []


def test_a_flood_of_random_usernames_keeps_the_tables_bounded() -> None:
    throttle = _throttle(per_username=5, per_address=10**9, capacity=100)
    for i in range(10_000):
        _fail(throttle, f"random-{i}", "203.0.113.7", float(i) / 100)
    assert throttle.tracked() == {"username": 100, "address": 1}


def test_expired_keys_are_forgotten_first_and_then_the_least_recently_tried() -> None:
    table = SlidingWindow(2, WINDOW_S, 3)
    table.add(b"old", 0.0)
    table.add(b"a", 950.0)
    table.add(b"b", 960.0)
    table.add(b"c", 970.0)  # "old" expired at 900: forgotten, not a live key
    assert len(table) == 3
    assert table.wait(b"old", 970.0) == 0.0
    table.add(b"a", 980.0)  # "a" is tried again: now "b" is the least recently tried
    table.add(b"d", 990.0)
    assert table.wait(b"a", 990.0) == pytest.approx(950.0 + WINDOW_S - 990.0)
    assert len(table) == 3
    table.add(b"b", 991.0)  # "b" was forgotten: it starts again with one attempt
    assert table.wait(b"b", 991.0) == 0.0


def test_a_long_username_is_held_as_a_16_byte_digest() -> None:
    throttle = _throttle(per_username=1)
    attempt = throttle.begin("x" * 1_000_000, "203.0.113.7", 0.0)
    assert isinstance(attempt, Attempt)
    assert len(attempt.username) == 16
    assert isinstance(throttle.begin("x" * 1_000_000, "198.51.100.1", 1.0), Throttled)
    assert isinstance(throttle.begin("x" * 999_999, "198.51.100.1", 1.0), Attempt)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # same subscriber
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 client
        (None, "unknown"),
        ("", "unknown"),
        ("/run/energymon.sock", "/run/energymon.sock"),
    ],
)
def test_failures_count_against_an_ipv4_address_or_an_ipv6_64(host: str | None, key: str) -> None:
    assert address_key(host) == key


def test_rotating_ipv6_addresses_within_a_64_does_not_escape_the_address_limit() -> None:
    throttle = _throttle(per_username=100, per_address=3)
    for i in range(3):
        _fail(throttle, f"user-{i}", f"2001:db8:1:2::{i + 1:x}", float(i))
    assert isinstance(throttle.begin("user-9", "2001:db8:1:2::ffff", 3.0), Throttled)
    assert isinstance(throttle.begin("user-9", "2001:db8:1:3::1", 3.0), Attempt)


_EVENTS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=400),  # seconds since the previous event
        st.sampled_from(["alice", "bob", "carol"]),
        st.sampled_from(["203.0.113.7", "198.51.100.1"]),
        st.sampled_from(["fail", "fail", "fail", "succeed", "abandon"]),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(events=_EVENTS)
def test_no_key_ever_has_more_than_its_limit_of_failures_in_any_window(
    events: list[tuple[float, str, str, str]],
) -> None:
    per_username, per_address = 3, 5
    throttle = _throttle(per_username=per_username, per_address=per_address)
    failures: dict[str, list[float]] = defaultdict(list)
    now = 0.0
    for gap, user, host, outcome in events:
        now += gap
        attempt = throttle.begin(user, host, now)
        if isinstance(attempt, Throttled):
            assert attempt.retry_after_s > 0
            continue
        if outcome == "fail":
            throttle.failed(attempt, now)
            failures[f"user:{user}"].append(now)
            failures[f"addr:{host}"].append(now)
        elif outcome == "succeed":
            throttle.succeeded(attempt)
            failures[f"user:{user}"].clear()  # forgiven by design
        else:
            throttle.abandoned(attempt)
    for key, times in failures.items():
        limit = per_username if key.startswith("user:") else per_address
        for start in times:
            assert sum(1 for t in times if start <= t < start + WINDOW_S) <= limit, key


def test_digests_are_stable_and_distinct() -> None:
    assert _digest("alice") == _digest("alice")
    assert _digest("alice") != _digest("Alice")  # usernames are matched exactly, as at login

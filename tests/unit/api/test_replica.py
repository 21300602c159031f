"""Where a request reads and what the replica's lag is said to be: the pure rules behind
ENERGYMON_DATABASE_READ_URL (the servers themselves: tests/integration/api/test_read_replica.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from prometheus_client import CollectorRegistry

from services.api.replica import (
    NOT_PROBED,
    PRIMARY,
    ReadChoice,
    ReplicaState,
    ReplicaWatch,
    behind_header,
    choose,
    lag_s,
)
from services.api.replica_http import written_position
from services.core.settings import DatabaseSettings
from services.core.store.replica import StandbyPosition

BEHIND = StandbyPosition(in_recovery=True, replayed_lsn=1000, replay_age_s=3600.0)


@pytest.mark.parametrize(
    ("position", "primary_lsn", "caught_up_at", "now", "expected"),
    [
        # replayed what the primary had written: not behind, and caught up now
        (StandbyPosition(True, 2000, 3600.0), 2000, None, 50.0, (0.0, 50.0)),
        # behind after a quiet hour, last caught up 0.8 s ago: 0.8 s, not an hour
        (BEHIND, 2000, 49.2, 50.0, (pytest.approx(0.8), 49.2)),
        # behind, never seen caught up: the age of the last replayed transaction
        (BEHIND, 2000, None, 50.0, (3600.0, None)),
        # replaying a busy primary: the last replayed commit is the tighter bound
        (StandbyPosition(True, 1000, 0.3), 2000, 10.0, 50.0, (0.3, 10.0)),
        # the primary did not answer: only the replica's own evidence
        (BEHIND, None, 49.0, 50.0, (1.0, 49.0)),
        # nothing replayed since the standby started and never caught up: unknown
        (StandbyPosition(True, None, None), 2000, None, 50.0, (None, None)),
        # no standby at all (a primary given as the read URL): never behind
        (StandbyPosition(False, 5000, None), 9000, None, 50.0, (0.0, 50.0)),
    ],
)
def test_the_lag_is_the_tighter_of_the_replay_age_and_the_time_since_last_caught_up(
    position: StandbyPosition,
    primary_lsn: int | None,
    caught_up_at: float | None,
    now: float,
    expected: tuple[float | None, float | None],
) -> None:
    assert lag_s(position, primary_lsn, caught_up_at, now) == expected


UP = ReplicaState(reachable=True, replayed_lsn=5000, lag_s=1.0)


@pytest.mark.parametrize(
    ("state", "writes", "written", "expected"),
    [
        (UP, False, None, ReadChoice(replica=True)),
        # lag above ENERGYMON_DATABASE_READ_MAX_LAG_S (2 s here): said
        (ReplicaState(True, 5000, 7.5), False, None, ReadChoice(replica=True, behind_s=7.5)),
        # a request that may write reads what it writes
        (UP, True, None, PRIMARY),
        # not probed yet, or unreachable: the primary
        (NOT_PROBED, False, None, PRIMARY),
        (ReplicaState(False), False, None, PRIMARY),
        # the user's last change not replayed yet: the primary; replayed: the replica, forget it
        (UP, False, 5001, PRIMARY),
        (UP, False, 5000, ReadChoice(replica=True, replayed=True)),
        (ReplicaState(True, None, None), False, 10, PRIMARY),
    ],
)
def test_a_request_reads_the_replica_only_when_it_can_see_what_the_user_changed(
    state: ReplicaState, writes: bool, written: int | None, expected: ReadChoice
) -> None:
    assert choose(state, writes=writes, written=written, max_lag_s=2.0) == expected


@pytest.mark.parametrize(("lag", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (61.9, "62")])
def test_a_replica_that_is_behind_never_says_zero_seconds(lag: float, header: str) -> None:
    assert behind_header(lag) == header


@pytest.mark.parametrize(
    ("cookie", "position"),
    [
        ("123456", 123456),
        (None, None),
        ("", None),
        ("-5", None),
        ("0/3000060", None),
        ("9" * 21, None),
    ],
)
def test_only_a_decimal_wal_position_in_the_cookie_counts(
    cookie: str | None, position: int | None
) -> None:
    assert written_position(cookie) == position


def test_an_empty_read_url_means_reading_the_primary() -> None:
    primary = "postgresql://u@db-primary:5432/energymon"
    assert DatabaseSettings(url=primary, read_url="").for_reads().url == primary
    replica = DatabaseSettings(url=primary, read_url="postgresql://u@db-replica/energymon")
    assert replica.for_reads().url == "postgresql://u@db-replica/energymon"
    assert replica.for_reads().read_url is None
    with pytest.raises(ValueError, match="postgresql://"):
        DatabaseSettings(url=primary, read_url="mysql://db-replica/energymon")


class _Result:
    def __init__(self, row: tuple[object, ...]) -> None:
        self._row = row

    def scalar_one(self) -> object:
        return self._row[0]

    def one(self) -> tuple[object, ...]:
        return self._row


class _Server:
    """An engine whose connections answer every statement with ``row`` (or fail while down)."""

    def __init__(self, row: tuple[object, ...]) -> None:
        self.row = row
        self.down = False

    @contextmanager
    def connect(self) -> Iterator[_Server]:
        if self.down:
            raise OSError("connection refused")
        yield self

    def execute(self, _statement: object) -> _Result:
        return _Result(self.row)


def _sample(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name)


def test_an_unreachable_replica_is_said_and_read_around_until_it_answers_again() -> None:
    primary, replica = _Server((2000,)), _Server((True, 2000, 40.0))
    registry = CollectorRegistry()
    ticks = iter([1.0, 2.0, 3.5])  # the three probes' clock readings
    watch = ReplicaWatch(primary, replica, registry, clock=lambda: next(ticks))  # type: ignore[arg-type]
    assert watch.state == NOT_PROBED
    assert watch.probe() == ReplicaState(True, 2000, 0.0)
    assert _sample(registry, "energymon_api_replica_up") == 1
    assert _sample(registry, "energymon_api_replica_lag_seconds") == 0

    replica.down = True
    assert watch.probe() == ReplicaState(False)
    assert choose(watch.state, writes=False, written=None, max_lag_s=10.0) == PRIMARY
    assert _sample(registry, "energymon_api_replica_up") == 0
    assert math.isnan(_sample(registry, "energymon_api_replica_lag_seconds") or 0.0)

    replica.down, replica.row = False, (True, 1500, 40.0)  # back, behind a primary at 2000
    # last seen caught up at the first probe, 2.5 s ago: tighter than the 40 s replay age
    assert watch.probe() == ReplicaState(True, 1500, 2.5)
    assert _sample(registry, "energymon_api_replica_up") == 1

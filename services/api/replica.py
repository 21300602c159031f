"""The read replica (``ENERGYMON_DATABASE_READ_URL``): how far behind it is, and where a request
reads.

A thread of each API process probes the primary and the replica once every :data:`PROBE_S` (two
statements without a table, services/core/store/replica.py) and keeps the answer; requests only
look at it. The lag is how stale the replica's data may be: 0 when it has replayed the WAL the
primary had written at the probe, else the smaller of the time since the last transaction it
replayed was committed (``pg_last_xact_replay_timestamp()``) and the time since a probe last
found it caught up. (The first alone overstates after a quiet spell: a replica a few milliseconds
behind the first write after an idle hour would read as an hour behind.)

Where a request reads (:func:`choose`): GET and HEAD requests read the replica while it answers;
other requests, requests made before the first probe or while the replica is unreachable, and a
console page asked for before the replica has replayed the user's own last change (its position
in the ``energymon_wal`` cookie) read the primary.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import Engine

from services.core.logging import get_logger
from services.core.store.replica import StandbyPosition, standby_position, written_lsn

log = get_logger("api.replica")
PROBE_S = 1.0


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """The replica as last probed."""

    reachable: bool | None  # None: not probed yet
    replayed_lsn: int | None = None
    lag_s: float | None = None  # None: unknown


NOT_PROBED = ReplicaState(reachable=None)


@dataclass(frozen=True, slots=True)
class ReadChoice:
    """Where one request reads, and what its answer says about it."""

    replica: bool
    behind_s: float | None = None  # the lag to report (beyond ENERGYMON_DATABASE_READ_MAX_LAG_S)
    replayed: bool = False  # the replica has replayed the user's last change: forget it


PRIMARY = ReadChoice(replica=False)


def lag_s(
    position: StandbyPosition, primary_lsn: int | None, caught_up_at: float | None, now: float
) -> tuple[float | None, float | None]:
    """(the replica's lag in seconds or None if unknown, when it was last caught up), from a
    probe that read ``primary_lsn`` on the primary at ``now`` (None: the primary did not answer)
    and then ``position``."""
    replayed = position.replayed_lsn
    if not position.in_recovery:
        return 0.0, now
    if primary_lsn is not None and replayed is not None and replayed >= primary_lsn:
        return 0.0, now
    bounds = [b for b in (position.replay_age_s,) if b is not None]
    if caught_up_at is not None:
        bounds.append(now - caught_up_at)
    return (min(bounds) if bounds else None), caught_up_at


def choose(
    state: ReplicaState, *, writes: bool, written: int | None, max_lag_s: float
) -> ReadChoice:
    """Where a request reads: ``writes`` for a request that may write (not GET or HEAD),
    ``written`` the position of the user's last change (None: none remembered)."""
    if writes or not state.reachable:
        return PRIMARY
    if written is not None and (state.replayed_lsn is None or state.replayed_lsn < written):
        return PRIMARY
    lag = state.lag_s
    behind = lag if lag is not None and lag > max_lag_s else None
    return ReadChoice(replica=True, behind_s=behind, replayed=written is not None)


def behind_header(behind_s: float) -> str:
    """Whole seconds, rounded up: a replica that is behind never says 0."""
    return str(max(1, math.ceil(behind_s)))


class ReplicaWatch:
    """Probes the replica every ``probe_s`` in a thread; :attr:`state` is the last answer.

    The first failure is logged as a warning (reads then go to the primary), repeats only at
    debug level, and the recovery once."""

    def __init__(
        self,
        primary: Engine,
        replica: Engine,
        registry: CollectorRegistry,
        *,
        probe_s: float = PROBE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._replica = replica
        self._probe_s = probe_s
        self._clock = clock
        self._caught_up_at: float | None = None
        self._warned_no_standby = False
        self.state = NOT_PROBED
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lag = Gauge(
            "energymon_api_replica_lag_seconds",
            "How far the read replica is behind the primary (NaN: unknown or unreachable).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._up = Gauge(
            "energymon_api_replica_up",
            "1 while the read replica answers, 0 while reads fall back to the primary.",
            registry=registry,
            multiprocess_mode="livemin",
        )
        self._lag.set(math.nan)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="replica-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._probe_s * 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.probe()
            self._stop.wait(self._probe_s)

    def probe(self) -> ReplicaState:
        """Read both servers once and keep the answer."""
        now = self._clock()
        primary_lsn: int | None = None
        try:
            with self._primary.connect() as conn:  # first: the replica is then compared to it
                primary_lsn = written_lsn(conn)
        except Exception as err:  # noqa: BLE001 - the replica may still serve reads
            log.debug("cannot read the primary's WAL position", error=str(err))
        try:
            with self._replica.connect() as conn:
                position = standby_position(conn)
        except Exception as err:  # noqa: BLE001 - any failure: read the primary meanwhile
            self._failed(err)
            return self.state
        if not position.in_recovery and not self._warned_no_standby:
            self._warned_no_standby = True
            log.warning("the read replica is no standby (not in recovery); reading from it anyway")
        lag, self._caught_up_at = lag_s(position, primary_lsn, self._caught_up_at, now)
        if self.state.reachable is False:
            log.info("read replica answers again; reads go to it")
        self.state = ReplicaState(True, position.replayed_lsn, lag)
        self._up.set(1)
        self._lag.set(math.nan if lag is None else lag)
        return self.state

    def _failed(self, err: Exception) -> None:
        if self.state.reachable is False:
            log.debug("read replica still unreachable", error=str(err))
        else:
            log.warning(
                "read replica unreachable; reads go to the primary",
                error=f"{type(err).__name__}: {err}",
            )
        self.state = ReplicaState(False)
        self._up.set(0)
        self._lag.set(math.nan)

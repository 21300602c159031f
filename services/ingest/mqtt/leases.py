"""Sharing MQTT partitions between ingest replicas with leases in PostgreSQL.

Each replica heartbeats in ``ingest_members`` and, every round, renews the leases of the partitions
it holds, gives up what exceeds its fair share (``ceil(partitions / live replicas)``) and claims
free or expired partitions up to that share. A replica that dies stops renewing: once its lease
has expired (database time) another replica claims the partition and connects to the partition's
broker session, where the broker has kept every message not yet acknowledged.

Unlike Modbus devices, a partition needs no fencing by time: the broker lets one connection hold a
session, so a replica that lost its lease while cut off from the database is disconnected ("session
taken over") the moment the new holder connects, and must not reconnect. That is why a replica keeps
its partitions while the database is unreachable (it goes on spooling) instead of dropping them.

Partitions numbered at or above the configured count (after the count was lowered) are claimed
one at a time for draining: their sessions still hold messages and subscriptions.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from services.core.logging import get_logger
from services.core.store import partition_leases as store

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class LeaseRound:
    held: frozenset[int]  # partitions this replica may consume now (renewed or just claimed)
    lost: frozenset[int]  # believed held, but the lease is someone else's now: stop at once
    surplus: frozenset[int]  # held beyond the fair share: hand back (drain, then release)
    draining: frozenset[int]  # retired partitions held for draining (a subset of held)
    takeovers: tuple[tuple[int, str], ...]  # (partition, replica whose lease had expired)
    live_replicas: int


class PartitionLeases:
    def __init__(
        self,
        engine: Engine,
        replica: str,
        partitions: int,
        ttl_s: float = 15.0,
        forget_s: float = 86_400.0,
    ) -> None:
        self._engine = engine
        self.replica = replica
        self.partitions = partitions
        self.ttl_s = ttl_s
        self.forget_s = forget_s
        self._host = socket.gethostname()
        self._pid = os.getpid()
        self._reclaim: bool | None = None  # decided once, at the first round

    def _may_reclaim(self, conn: Connection) -> bool:
        """Whether leases still recorded under this replica's name are ours to take at once.

        True when they belong to an earlier run of this replica that provably ended: its row
        names this host and a process that is gone (or is this very process, as when a
        container restarts with the same pid). A live row of another process with the same name
        is a configuration error: wait for its leases to expire instead of fighting over them."""
        row = store.member(conn, replica=self.replica, ttl_s=self.ttl_s)
        if row is None or not row.live:
            return True
        if row.host == self._host and (row.pid == self._pid or not _alive(row.pid)):
            return True
        log.error(
            "another live ingest process uses this replica name; set ENERGYMON_INGEST_REPLICA_ID",
            replica=self.replica,
            other_host=row.host,
            other_pid=row.pid,
        )
        return False

    def round(self, held: Collection[int]) -> LeaseRound:
        """Heartbeat, renew ``held``, claim up to the fair share and report what to give up."""
        mine = sorted(held)
        with self._engine.begin() as conn:
            store.ensure_partitions(conn, count=self.partitions)
            if self._reclaim is None:
                self._reclaim = self._may_reclaim(conn)
            store.heartbeat(
                conn,
                replica=self.replica,
                host=self._host,
                pid=self._pid,
                held=",".join(str(p) for p in mine),
            )
            live = max(1, store.live_replicas(conn, ttl_s=self.ttl_s))
            renewed = store.renew(conn, replica=self.replica, partitions=mine, ttl_s=self.ttl_s)
            share = math.ceil(self.partitions / live)
            active = {p for p in renewed if p < self.partitions}
            claimed: dict[int, str | None] = {}
            if len(active) < share:
                claimed.update(self._claim(conn, mine, retired=False, limit=share - len(active)))
            if not any(p >= self.partitions for p in renewed):
                claimed.update(self._claim(conn, mine, retired=True, limit=1))
            store.forget_members(conn, silent_s=self.forget_s)
        now_held = renewed | set(claimed)
        ordered = sorted(p for p in now_held if p < self.partitions)
        return LeaseRound(
            held=frozenset(now_held),
            lost=frozenset(set(mine) - renewed),
            surplus=frozenset(ordered[share:]),
            draining=frozenset(p for p in now_held if p >= self.partitions),
            takeovers=tuple(
                (p, owner)
                for p, owner in sorted(claimed.items())
                if owner not in (None, self.replica)
            ),
            live_replicas=live,
        )

    def _claim(
        self, conn: Connection, held: Collection[int], *, retired: bool, limit: int
    ) -> dict[int, str | None]:
        """Claimed partition -> the replica whose lease had expired (None: it was free)."""
        claimed = store.claim(
            conn,
            replica=self.replica,
            ttl_s=self.ttl_s,
            limit=limit,
            count=self.partitions,
            retired=retired,
            reclaim=bool(self._reclaim),
            held=held,
        )
        return {c.partition: c.previous_owner for c in claimed}

    def release(self, partitions: Collection[int]) -> None:
        """Hand partitions back (after their session was left cleanly) for another to claim."""
        if not partitions:
            return
        with self._engine.begin() as conn:
            store.release(conn, replica=self.replica, partitions=partitions)

    def drained(self, partition: int) -> None:
        """A retired partition's session is empty and removed: forget the partition."""
        with self._engine.begin() as conn:
            store.drop_retired(
                conn, replica=self.replica, partition=partition, count=self.partitions
            )

    def leave(self, partitions: Collection[int]) -> None:
        """Clean shutdown: release everything and leave the membership."""
        with self._engine.begin() as conn:
            store.release(conn, replica=self.replica, partitions=partitions)
            store.leave(conn, replica=self.replica)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return pid > 0

"""Sharding Modbus devices across poller processes with leases in PostgreSQL.

No coordinator of our own: each poller heartbeats in ``poller_members`` and, every round, renews its
device leases, gives up what exceeds its fair share (``ceil(devices / live pollers)``) and claims
free or expired leases up to that share. Expiry is database time; a poller trusts its leases only
until ``round start (its own clock) + ttl - margin``, so a poller cut off from the database stops
polling before anyone else may claim its devices. A dead poller's devices are taken over within
``ttl + round interval``.

Giving devices up is two-step so that no device is ever polled by two pollers at once: a round
reports the surplus, the poller stops those devices and waits for in-flight polls, and only then
:meth:`LeaseManager.release` deletes the leases.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine

from services.core.store import device_leases as store


@dataclass(frozen=True, slots=True)
class LeaseRound:
    held: frozenset[int]
    surplus: frozenset[int]
    valid_until: float  # time.monotonic() after which the held leases must not be trusted
    live_pollers: int


class LeaseManager:
    def __init__(self, engine: Engine, owner: str, ttl_s: float = 15.0) -> None:
        self._engine = engine
        self.owner = owner
        self.ttl_s = ttl_s

    def round(self, device_ids: Sequence[int]) -> LeaseRound:
        """Heartbeat, renew, and claim up to the fair share; report the surplus to stop."""
        started = time.monotonic()
        ids = sorted(set(device_ids))
        with self._engine.begin() as conn:
            store.heartbeat(conn, owner=self.owner)
            live = max(1, store.live_pollers(conn, ttl_s=self.ttl_s))
            share = math.ceil(len(ids) / live) if ids else 0
            store.drop_others(conn, owner=self.owner, meter_ids=ids)
            held = store.renew(conn, owner=self.owner, meter_ids=ids, ttl_s=self.ttl_s)
            if len(held) < share:
                held |= store.claim(
                    conn,
                    owner=self.owner,
                    meter_ids=ids,
                    ttl_s=self.ttl_s,
                    limit=share - len(held),
                )
            store.forget_members(conn, silent_s=self.ttl_s * 10)
        ordered = sorted(held)
        surplus = frozenset(ordered[share:]) if len(ordered) > share else frozenset()
        margin = min(2.0, self.ttl_s * 0.2)
        return LeaseRound(
            frozenset(ordered[:share]) if surplus else frozenset(held),
            surplus,
            started + self.ttl_s - margin,
            live,
        )

    def release(self, meter_ids: Sequence[int]) -> None:
        """Give up leases (after their devices have stopped being polled)."""
        if not meter_ids:
            return
        with self._engine.begin() as conn:
            store.release(conn, owner=self.owner, meter_ids=meter_ids)

    def leave(self) -> None:
        """Clean shutdown: release everything and leave the membership."""
        with self._engine.begin() as conn:
            store.leave(conn, owner=self.owner)

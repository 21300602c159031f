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

from sqlalchemy import Engine, text

_HEARTBEAT = """
INSERT INTO poller_members (owner, heartbeat_at) VALUES (:owner, now())
ON CONFLICT (owner) DO UPDATE SET heartbeat_at = now()
"""
_LIVE = (
    "SELECT count(*) FROM poller_members WHERE heartbeat_at > now() - make_interval(secs => :ttl)"
)
_RENEW = """
UPDATE device_leases SET expires_at = now() + make_interval(secs => :ttl)
WHERE owner = :owner AND meter_id = ANY(:ids) RETURNING meter_id
"""
_DROP_GONE = "DELETE FROM device_leases WHERE owner = :owner AND NOT (meter_id = ANY(:ids))"
_CLAIM = """
INSERT INTO device_leases (meter_id, owner, expires_at)
SELECT id, :owner, now() + make_interval(secs => :ttl)
FROM unnest(CAST(:ids AS integer[])) AS id
WHERE NOT EXISTS (SELECT 1 FROM device_leases l WHERE l.meter_id = id AND l.expires_at > now())
ORDER BY id
LIMIT :n
ON CONFLICT (meter_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE device_leases.expires_at <= now()
RETURNING meter_id
"""
_FORGET_MEMBERS = """
DELETE FROM poller_members WHERE heartbeat_at < now() - make_interval(secs => :ttl * 10)
"""


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
        params = {"owner": self.owner, "ttl": self.ttl_s, "ids": ids}
        with self._engine.begin() as conn:
            conn.execute(text(_HEARTBEAT), params)
            live = max(1, int(conn.execute(text(_LIVE), params).scalar_one()))
            share = math.ceil(len(ids) / live) if ids else 0
            conn.execute(text(_DROP_GONE), params)
            held = {int(r[0]) for r in conn.execute(text(_RENEW), params)}
            if len(held) < share:
                claimed = conn.execute(text(_CLAIM), {**params, "n": share - len(held)})
                held |= {int(r[0]) for r in claimed}
            conn.execute(text(_FORGET_MEMBERS), params)
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
            conn.execute(
                text("DELETE FROM device_leases WHERE owner = :owner AND meter_id = ANY(:ids)"),
                {"owner": self.owner, "ids": list(meter_ids)},
            )

    def leave(self) -> None:
        """Clean shutdown: release everything and leave the membership."""
        with self._engine.begin() as conn:
            conn.execute(text("DELETE FROM device_leases WHERE owner = :o"), {"o": self.owner})
            conn.execute(text("DELETE FROM poller_members WHERE owner = :o"), {"o": self.owner})

"""Keeping 15-minute consumption current, incrementally: the rollup pass.

The ingest writer records, per point, the time range of newly inserted readings (``rollup_dirty``)
in the same transaction as the readings. :func:`catch_up` claims those rows, oldest first, and
for each point recomputes only the buckets the new readings can change
(:func:`services.accounting.recompute.recompute_point`). There is no window beyond which late data
is ignored: a reading a week late re-opens exactly its buckets. Duplicates insert nothing and so
mark nothing. A claimed range stays visible to other sessions until its transaction commits, so
the rollup lag (``services.core.store.freshness``) counts it until its buckets are written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, delete, select

from services.accounting.recompute import recompute_point
from services.core.schema.tables import rollup_dirty
from services.core.store.rollups import days_zone

# the oldest ranges, skipping those another pass is taking right now
_pending = rollup_dirty.alias("pending")
_CLAIM = (
    delete(rollup_dirty)
    .where(
        rollup_dirty.c.id.in_(
            select(_pending.c.id)
            .order_by(_pending.c.id)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
    )
    .returning(rollup_dirty.c.point_id, rollup_dirty.c.from_ts, rollup_dirty.c.to_ts)
)


@dataclass(frozen=True, slots=True)
class CatchUpStats:
    ranges: int
    points: int
    buckets_written: int
    seconds: float


def catch_up(engine: Engine, *, limit: int = 5000) -> CatchUpStats:
    """Process every pending dirty range (in transactions of up to ``limit`` ranges)."""
    started = time.perf_counter()
    ranges = points = written = 0
    while True:
        with engine.begin() as conn:
            claimed = conn.execute(_CLAIM, {"limit": limit}).all()
            if not claimed:
                break
            zone_key = days_zone(conn)
            days = ZoneInfo(zone_key) if zone_key else None
            merged: dict[int, tuple[datetime, datetime]] = {}
            for r in claimed:
                lo, hi = merged.get(r.point_id, (r.from_ts, r.to_ts))
                merged[r.point_id] = (min(lo, r.from_ts), max(hi, r.to_ts))
            for pid, (lo, hi) in sorted(merged.items()):
                written += recompute_point(conn, pid, lo, hi, days)
            ranges += len(claimed)
            points += len(merged)
    return CatchUpStats(ranges, points, written, time.perf_counter() - started)

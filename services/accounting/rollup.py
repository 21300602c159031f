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

from sqlalchemy import Engine, text

from services.accounting.recompute import recompute_point
from services.core.store.rollups import days_zone

_CLAIM = """
DELETE FROM rollup_dirty WHERE id IN (
    SELECT id FROM rollup_dirty ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING point_id, from_ts, to_ts
"""


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
            claimed = conn.execute(text(_CLAIM), {"limit": limit}).all()
            if not claimed:
                break
            zone_key = days_zone(conn)
            days = ZoneInfo(zone_key) if zone_key else None
            merged: dict[int, tuple[datetime, datetime]] = {}
            for pid, lo, hi in claimed:
                old = merged.get(pid)
                merged[pid] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))
            for pid, (lo, hi) in sorted(merged.items()):
                written += recompute_point(conn, pid, lo, hi, days)
            ranges += len(claimed)
            points += len(merged)
    return CatchUpStats(ranges, points, written, time.perf_counter() - started)

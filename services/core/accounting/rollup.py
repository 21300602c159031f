"""Keeping 15-minute consumption current, incrementally.

The ingest writer records, per point, the time range of newly inserted readings (``rollup_dirty``)
in the same transaction as the readings. :func:`catch_up` claims those rows, and for each point
recomputes only the buckets the new readings can change: from the bucket of the reading before the
earliest new one to the bucket of the reading after the latest, using the raw readings around them
(one more on each side, three more after for the dip rule) and the pure functions of
``services.core.domain``. There is no window beyond which late data is ignored: a reading a week
late re-opens exactly its buckets. Duplicates insert nothing and so mark nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from services.core.accounting.days import days_zone, refresh_days
from services.core.domain.buckets import bucket_start, buckets
from services.core.domain.counters import CounterResult, Flag, Reading, Replacement, intervals

_CLAIM = """
DELETE FROM rollup_dirty WHERE id IN (
    SELECT id FROM rollup_dirty ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING point_id, from_ts, to_ts
"""
_POINT = """
SELECT p.kind, p.interval_s, p.register_max, p.max_rate, m.multiplier
FROM points p JOIN meters m ON m.id = p.meter_id WHERE p.id = :pid
"""
_BEFORE = """
SELECT ts FROM readings WHERE point_id = :pid AND ts < :t ORDER BY ts DESC LIMIT :n
"""
_AFTER = """
SELECT ts FROM readings WHERE point_id = :pid AND ts > :t ORDER BY ts LIMIT :n
"""
_RANGE = """
SELECT ts, value FROM readings WHERE point_id = :pid AND ts >= :lo AND ts <= :hi ORDER BY ts
"""


@dataclass(frozen=True, slots=True)
class CatchUpStats:
    ranges: int
    points: int
    buckets_written: int
    seconds: float


def _edge(conn: Connection, sql: str, pid: int, t: datetime, n: int) -> list[datetime]:
    return [r[0] for r in conn.execute(text(sql), {"pid": pid, "t": t, "n": n})]


def recompute_point(
    conn: Connection, pid: int, first: datetime, last: datetime, days: ZoneInfo | None = None
) -> int:
    """Recompute the buckets of ``pid`` that readings in [first, last] can change, and the
    local days (in ``days``) those buckets belong to."""
    point = conn.execute(text(_POINT), {"pid": pid}).first()
    if point is None or point.kind != "cumulative":
        return 0  # instantaneous points have no counter consumption
    before = _edge(conn, _BEFORE, pid, first, 2)  # the reading before, and the one before that
    after = _edge(conn, _AFTER, pid, last, 5)  # the reading after, one more, three for dips
    lo_bucket = bucket_start(before[0] if before else first)
    hi_bucket = bucket_start(after[0] if after else last)
    lo = before[-1] if before else first
    hi = after[-1] if after else last
    rows = conn.execute(text(_RANGE), {"pid": pid, "lo": lo, "hi": hi}).all()
    readings = [Reading(ts, value) for ts, value in rows]
    swaps = [
        Replacement(r.ts, r.old_final, r.new_first)
        for r in conn.execute(
            text(
                "SELECT ts, old_final, new_first FROM meter_replacements WHERE point_id = :pid "
                "AND ts > :lo AND ts <= :hi"
            ),
            {"pid": pid, "lo": lo, "hi": hi},
        )
    ]
    result = intervals(
        readings,
        multiplier=float(point.multiplier),
        register_max=point.register_max,
        replacements=swaps,
        max_power=point.max_rate,
    )
    computed = buckets(result.intervals, readings, interval_s=point.interval_s)
    conn.execute(
        text(
            "DELETE FROM consumption_15m WHERE point_id = :pid AND bucket >= :lo AND bucket <= :hi"
        ),
        {"pid": pid, "lo": lo_bucket, "hi": hi_bucket},
    )
    keep = [b for start, b in computed.items() if lo_bucket <= start <= hi_bucket]
    if keep:
        conn.execute(
            text(
                "INSERT INTO consumption_15m (point_id, bucket, energy, readings, expected, "
                "estimated) VALUES (:pid, :bucket, :energy, :readings, :expected, :estimated)"
            ),
            [
                {
                    "pid": pid,
                    "bucket": b.start,
                    "energy": b.energy,
                    "readings": b.readings,
                    "expected": b.expected,
                    "estimated": b.estimated,
                }
                for b in keep
            ],
        )
    if days is not None:
        refresh_days(conn, pid, lo_bucket, hi_bucket, days)
    _record_events(conn, pid, before[0] if before else first, after[0] if after else last, result)
    return len(keep)


_QUIET = (Flag.OK, Flag.REPLACEMENT)  # a registered swap is not an anomaly


def _record_events(
    conn: Connection, pid: int, lo: datetime, hi: datetime, result: CounterResult
) -> None:
    """Keep ``counter_events`` of ``pid`` in (lo, hi] equal to what this computation found;
    an event found again keeps its first ``detected_at``."""
    found: dict[tuple[datetime, str], float | None] = {
        (i.end, i.flag.value): i.energy
        for i in result.intervals
        if i.flag not in _QUIET and lo < i.end <= hi
    }
    found |= {(r.ts, "bad_read"): None for r in result.skipped if lo < r.ts <= hi}
    stored = {
        (ts, kind)
        for ts, kind in conn.execute(
            text(
                "SELECT ts, kind FROM counter_events WHERE point_id = :pid AND ts > :lo "
                "AND ts <= :hi"
            ),
            {"pid": pid, "lo": lo, "hi": hi},
        )
    }
    gone = stored - found.keys()
    if gone:
        conn.execute(
            text("DELETE FROM counter_events WHERE point_id = :pid AND ts = :ts AND kind = :kind"),
            [{"pid": pid, "ts": ts, "kind": kind} for ts, kind in gone],
        )
    new = found.keys() - stored
    if new:
        conn.execute(
            text(
                "INSERT INTO counter_events (point_id, ts, kind, energy) "
                "VALUES (:pid, :ts, :kind, :energy)"
            ),
            [{"pid": pid, "ts": ts, "kind": kind, "energy": found[ts, kind]} for ts, kind in new],
        )


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

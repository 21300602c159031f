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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from services.core.accounting.days import days_zone, refresh_days
from services.core.domain.buckets import BUCKET, bucket_start, buckets
from services.core.domain.counters import CounterResult, Flag, Reading, Replacement, intervals
from services.core.domain.power import DEFAULT_MAX_GAP_S, integrate

_CLAIM = """
DELETE FROM rollup_dirty WHERE id IN (
    SELECT id FROM rollup_dirty ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED)
RETURNING point_id, from_ts, to_ts
"""
_POINT = """
SELECT p.kind, p.interval_s, p.register_max, p.max_rate, m.multiplier, p.source_point_id,
       (SELECT d.id FROM points d WHERE d.source_point_id = p.id AND d.active) AS derived
FROM points p JOIN meters m ON m.id = p.meter_id WHERE p.id = :pid
"""
_BEFORE = """
SELECT ts FROM readings WHERE point_id = :pid AND ts < :t ORDER BY ts DESC LIMIT :n
"""
_AFTER = """
SELECT ts FROM readings WHERE point_id = :pid AND ts > :t ORDER BY ts LIMIT :n
"""
_FROM = """
SELECT ts FROM readings WHERE point_id = :pid AND ts >= :t ORDER BY ts LIMIT :n
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
    local days (in ``days``) those buckets belong to. For a power point that an energy point is
    integrated from, the buckets written are the energy point's."""
    point = conn.execute(text(_POINT), {"pid": pid}).first()
    if point is None:
        return 0
    if point.source_point_id is not None:  # integrated from power: the power readings decide
        return recompute_point(conn, int(point.source_point_id), first, last, days)
    counter = point.kind == "cumulative"
    if not counter and point.derived is None:
        return 0  # other instantaneous points have no consumption
    target = pid if counter else int(point.derived)
    before = _edge(conn, _BEFORE, pid, first, 1)  # the reading before the new ones
    after = _edge(conn, _AFTER, pid, last, 1)  # and the one after
    lo_bucket = bucket_start(before[0] if before else first)
    hi_bucket = bucket_start(after[0] if after else last)
    # The buckets are rewritten whole, so read every reading in them, and around them the ones
    # whose intervals reach into them: two before (one more for context), five after (the one
    # after, one more, three for the dip rule).
    lead = _edge(conn, _BEFORE, pid, lo_bucket, 2)
    tail = _edge(conn, _FROM, pid, hi_bucket + BUCKET, 5)
    lo = lead[-1] if lead else lo_bucket
    hi = tail[-1] if tail else hi_bucket + BUCKET
    rows = conn.execute(text(_RANGE), {"pid": pid, "lo": lo, "hi": hi}).all()
    readings = [Reading(ts, value) for ts, value in rows]
    if counter:
        result = _counter_intervals(conn, pid, point, readings, (lo, hi))
        found = result.intervals
    else:
        found = integrate(
            readings,
            multiplier=float(point.multiplier),
            max_gap_s=max(DEFAULT_MAX_GAP_S, 2.0 * point.interval_s),
        )
    computed = buckets(found, readings, interval_s=point.interval_s)
    conn.execute(
        text(
            "DELETE FROM consumption_15m WHERE point_id = :pid AND bucket >= :lo AND bucket <= :hi"
        ),
        {"pid": target, "lo": lo_bucket, "hi": hi_bucket},
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
                    "pid": target,
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
        refresh_days(conn, target, lo_bucket, hi_bucket, days)
    if counter:
        edge_lo = before[0] if before else first
        _record_events(conn, pid, edge_lo, after[0] if after else last, result)
    return len(keep)


def _counter_intervals(
    conn: Connection, pid: int, point: Any, readings: list[Reading], span: tuple[datetime, datetime]
) -> CounterResult:
    lo, hi = span
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
    return intervals(
        readings,
        multiplier=float(point.multiplier),
        register_max=point.register_max,
        replacements=swaps,
        max_power=point.max_rate,
    )


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


def mark_for_recompute(conn: Connection, since: datetime | None = None) -> int:
    """Mark every point's readings (from ``since``) for the rollups to recompute, e.g. after a
    meter's multiplier was corrected. Returns the number of points marked."""
    result = conn.execute(
        text(
            "INSERT INTO rollup_dirty (point_id, from_ts, to_ts) "
            "SELECT point_id, min(ts), max(ts) FROM readings "
            "WHERE CAST(:since AS timestamptz) IS NULL OR ts >= :since GROUP BY point_id"
        ),
        {"since": since},
    )
    return result.rowcount


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

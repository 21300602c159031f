"""Recomputing one point's 15-minute buckets (and their local days) from the raw readings.

For new readings in [first, last], the buckets that can change run from the bucket of the reading
before the earliest new one to the bucket of the reading after the latest; each is rewritten
whole from the raw readings in it and around it (one more on each side, three more after for the
dip rule), with the pure functions of ``services.core.domain``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.accounting.counter_events import record_events
from services.accounting.days import refresh_days
from services.core.domain.buckets import BUCKET, bucket_start, buckets
from services.core.domain.counters import CounterResult, Reading, Replacement, intervals
from services.core.domain.power import DEFAULT_MAX_GAP_S, integrate

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
        record_events(conn, pid, edge_lo, after[0] if after else last, result)
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

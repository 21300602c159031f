"""Peak demand and demand-response results from the 15-minute rollups (electricity, boundary
meters): the SQL side of ``services.core.domain.demand``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from services.core.domain.demand import Reduction, average_kw, reduction

BASELINE_DAYS = 5
LOOKBACK = timedelta(days=21)  # holds 5 similar days even around a week of events
PEAK_LOOKBACK = timedelta(days=30)

_BUCKETS = """
SELECT e.code, c.bucket, sum(c.energy) AS kwh
FROM consumption_15m c
JOIN points p ON p.id = c.point_id AND p.quantity = 'energy_import_kwh'
JOIN meters m ON m.id = p.meter_id AND m.role IN ('boundary', 'facility_total') AND m.active
JOIN enterprises e ON e.id = m.enterprise_id AND e.active
WHERE c.bucket >= :start AND c.bucket < :end AND e.code = ANY(:codes) {slot_filter}
GROUP BY e.code, c.bucket
"""
_PEAKS = """
SELECT DISTINCT ON (code) code, bucket, kwh FROM ({buckets}) b ORDER BY code, kwh DESC, bucket
"""


@dataclass(frozen=True, slots=True)
class Peak:
    at: datetime  # start of the 15 minutes, UTC
    kw: float


def peaks(
    conn: Connection, codes: Sequence[str], start: datetime, end: datetime
) -> dict[str, Peak]:
    """Each enterprise's highest 15-minute average power in [start, end)."""
    rows = conn.execute(
        text(_PEAKS.format(buckets=_BUCKETS.format(slot_filter=""))),
        {"start": start, "end": end, "codes": list(codes)},
    )
    return {code: Peak(bucket, average_kw(kwh)) for code, bucket, kwh in rows}


@dataclass(frozen=True, slots=True)
class EventResult:
    enterprise: str
    reduction: Reduction | None
    peak_kw: float | None


def event_results(
    conn: Connection,
    codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    *,
    skip_days: Sequence[date] = (),
) -> list[EventResult]:
    """Baseline (the same slots on the 5 previous similar days, event days skipped), actual
    and reduction of each enterprise over the event [start, end), and its peak demand in the
    30 days before."""
    slots = []
    t = start
    while t < end:
        slots.append(t)
        t += timedelta(minutes=15)
    lo, hi = start.astimezone(zone), end.astimezone(zone)
    params: dict[str, object] = {"start": start - LOOKBACK, "end": end, "codes": list(codes)}
    slot_filter = ""
    if lo.date() == (hi - timedelta(microseconds=1)).date():  # within one local day
        # only the event's time of day is needed on the baseline days
        slot_filter = "AND (c.bucket AT TIME ZONE :zone)::time >= :t0 AND " + (
            "(c.bucket AT TIME ZONE :zone)::time < :t1" if hi.time() != time() else "true"
        )
        params |= {"zone": zone.key, "t0": lo.time(), "t1": hi.time()}
    buckets: dict[str, dict[datetime, float]] = {code: {} for code in codes}
    for code, bucket, kwh in conn.execute(text(_BUCKETS.format(slot_filter=slot_filter)), params):
        buckets[code][bucket] = float(kwh)
    peak = peaks(conn, codes, start - PEAK_LOOKBACK, start)
    out = []
    for code in codes:
        p = peak.get(code)
        r = reduction(
            buckets[code],
            slots,
            zone,
            peak=p.kw if p else None,
            days=BASELINE_DAYS,
            skip=set(skip_days),
        )
        out.append(EventResult(code, r, p.kw if p else None))
    return out

"""15-minute buckets from interval consumption, and calendar rollups in local time.

Base buckets are 15 minutes aligned to UTC (the settlement interval; Asia/Shanghai's UTC+8 keeps
them aligned locally too). An interval's energy is spread over the buckets it covers in
proportion to the time it spends in each; a bucket that receives energy from an interval longer
than 1.5 expected reading intervals (a gap) is marked **estimated**. Each bucket carries its
**completeness**: readings present in it over readings expected (900 s / the point's interval),
capped at 1. Day, month and year totals sum the 15-minute buckets whose start falls in that local
period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.core.domain.counters import Interval, Reading, normalise

BUCKET = timedelta(minutes=15)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class Bucket:
    start: datetime  # UTC
    energy: float
    readings: int
    expected: int
    estimated: bool

    @property
    def completeness(self) -> float:
        return min(1.0, self.readings / self.expected) if self.expected else 0.0


def bucket_start(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return ts - timedelta(minutes=ts.minute % 15, seconds=ts.second, microseconds=ts.microsecond)


def buckets(
    intervals: Iterable[Interval], readings: Iterable[Reading], *, interval_s: int
) -> dict[datetime, Bucket]:
    """15-minute buckets covering every interval and reading."""
    energy: dict[datetime, float] = {}
    estimated: set[datetime] = set()
    for iv in intervals:
        total = (iv.end - iv.start).total_seconds()
        if total <= 0:
            continue
        gap = total > 1.5 * interval_s
        start = bucket_start(iv.start)
        while start < iv.end:
            end = start + BUCKET
            overlap = (min(end, iv.end) - max(start, iv.start)).total_seconds()
            if overlap > 0:
                energy[start] = energy.get(start, 0.0) + iv.energy * overlap / total
                if gap:
                    estimated.add(start)
            start = end
    counts: dict[datetime, int] = {}
    for r in normalise(readings):  # a duplicate delivery is not a second reading
        key = bucket_start(r.ts)
        counts[key] = counts.get(key, 0) + 1
    expected = max(1, int(BUCKET.total_seconds() // interval_s))
    keys = set(energy) | set(counts)
    return {
        k: Bucket(k, energy.get(k, 0.0), counts.get(k, 0), expected, k in estimated)
        for k in sorted(keys)
    }


def by_local_day(base: Mapping[datetime, Bucket], zone: ZoneInfo = SHANGHAI) -> dict[date, float]:
    out: dict[date, float] = {}
    for start, b in base.items():
        day = start.astimezone(zone).date()
        out[day] = out.get(day, 0.0) + b.energy
    return out

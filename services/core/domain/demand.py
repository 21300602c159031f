"""Peak demand and demand-response baselines from 15-minute energy (docs/accounting.md, "Peak
demand and demand response").

The average power of a 15-minute bucket is its kWh x 4. Peak demand is the highest such value in
a period. The baseline of an event slot is the mean of the same 15-minute slots on the previous
``days`` similar days (weekdays for a weekday, weekend days for a weekend day), skipping event
days; the reduction is baseline - actual, also as a share of the peak.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def average_kw(energy_kwh_15m: float) -> float:
    return energy_kwh_15m * 4


def peak_kw(buckets: Mapping[datetime, float]) -> tuple[datetime, float] | None:
    if not buckets:
        return None
    start, kwh = max(buckets.items(), key=lambda kv: (kv[1], kv[0]))
    return start, average_kw(kwh)


def similar_days(day: date, count: int, skip: Collection[date] = ()) -> list[date]:
    weekend = day.weekday() >= 5
    out: list[date] = []
    d = day
    while len(out) < count:
        d -= timedelta(days=1)
        if (d.weekday() >= 5) == weekend and d not in skip:
            out.append(d)
    return out


@dataclass(frozen=True, slots=True)
class Reduction:
    baseline_kw: float
    actual_kw: float
    reduction_kw: float
    share_of_peak: float | None


def baseline_kw(
    buckets: Mapping[datetime, float],
    slot: datetime,
    zone: ZoneInfo,
    *,
    days: int = 5,
    skip: Collection[date] = (),
) -> float | None:
    local = slot.astimezone(zone)
    values = []
    for d in similar_days(local.date(), days, skip):
        same = datetime.combine(d, time(local.hour, local.minute), tzinfo=zone)
        kwh = buckets.get(same.astimezone(slot.tzinfo))
        if kwh is not None:
            values.append(average_kw(kwh))
    return sum(values) / len(values) if values else None


def reduction(
    buckets: Mapping[datetime, float],
    event_slots: Collection[datetime],
    zone: ZoneInfo,
    *,
    peak: float | None,
    days: int = 5,
    skip: Collection[date] = (),
) -> Reduction | None:
    """Mean over the event's slots of baseline and actual average power."""
    base, actual = [], []
    for slot in sorted(event_slots):
        b = baseline_kw(buckets, slot, zone, days=days, skip=skip)
        a = buckets.get(slot)
        if b is not None and a is not None:
            base.append(b)
            actual.append(average_kw(a))
    if not base:
        return None
    b_kw, a_kw = sum(base) / len(base), sum(actual) / len(actual)
    red = b_kw - a_kw
    return Reduction(b_kw, a_kw, red, red / peak if peak else None)

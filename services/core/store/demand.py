"""Peak demand and demand-response results from the 15-minute rollups (electricity, the roles
that add up to a whole): the database side of ``services.core.domain.demand``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import TIME, Connection, cast, func, select
from sqlalchemy.dialects.postgresql import distinct_on

from services.core.domain.demand import Reduction, average_kw, reduction
from services.core.domain.quantities import QuantityCode
from services.core.domain.roles import COUNTED_ROLES
from services.core.schema.tables import consumption_15m, enterprises, meters, points

BASELINE_DAYS = 5
LOOKBACK = timedelta(days=21)  # holds 5 similar days even around a week of events
PEAK_LOOKBACK = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Peak:
    at: datetime  # start of the 15 minutes, UTC
    kw: float


@dataclass(frozen=True, slots=True)
class EventResult:
    enterprise: str
    reduction: Reduction | None
    peak_kw: float | None


def _buckets(codes: Sequence[str], start: datetime, end: datetime, *extra: Any) -> Any:
    """Electricity per enterprise and 15-minute bucket in [start, end)."""
    c = consumption_15m.c
    return (
        select(enterprises.c.code, c.bucket, func.sum(c.energy).label("kwh"))
        .select_from(consumption_15m)
        .join(
            points,
            (points.c.id == c.point_id) & (points.c.quantity == QuantityCode.ENERGY_IMPORT_KWH),
        )
        .join(
            meters,
            (meters.c.id == points.c.meter_id)
            & meters.c.role.in_(sorted(r.value for r in COUNTED_ROLES))
            & meters.c.active,
        )
        .join(
            enterprises,
            (enterprises.c.id == meters.c.enterprise_id) & enterprises.c.active,
        )
        .where(c.bucket >= start, c.bucket < end, enterprises.c.code.in_(list(codes)), *extra)
        .group_by(enterprises.c.code, c.bucket)
    )


def peaks(
    conn: Connection, *, codes: Sequence[str], start: datetime, end: datetime
) -> dict[str, Peak]:
    """Each enterprise's highest 15-minute average power in [start, end)."""
    b = _buckets(codes, start, end).subquery("b")
    stmt = (
        select(b.c.code, b.c.bucket, b.c.kwh)
        .ext(distinct_on(b.c.code))
        .order_by(b.c.code, b.c.kwh.desc(), b.c.bucket)
    )
    return {r.code: Peak(r.bucket, average_kw(r.kwh)) for r in conn.execute(stmt)}


def event_results(
    conn: Connection,
    *,
    codes: Sequence[str],
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
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
    extra = []
    if lo.date() == (hi - timedelta(microseconds=1)).date():  # within one local day
        # only the event's time of day is needed on the baseline days
        local_time = cast(func.timezone(zone.key, consumption_15m.c.bucket), TIME)
        extra.append(local_time >= lo.time())
        if hi.time() != time():
            extra.append(local_time < hi.time())
    buckets: dict[str, dict[datetime, float]] = {code: {} for code in codes}
    for row in conn.execute(_buckets(codes, start - LOOKBACK, end, *extra)):
        buckets[row.code][row.bucket] = float(row.kwh)
    peak = peaks(conn, codes=codes, start=start - PEAK_LOOKBACK, end=start)
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

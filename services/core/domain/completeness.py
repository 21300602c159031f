"""Completeness: the share of a point's expected collection periods that hold measured data.

The collection period is 15 minutes, the upload interval of the key energy-using units' online
monitoring system (NDRC 发改环资〔2017〕1711号); a meter whose declared reading interval is longer
counts its own period: the shortest of 15, 30, 45 min, 1, 1.5, 2, 3, 4, 6, 8, 12 or 24 h that is
at least the declared ``interval_s``. Periods are aligned to local midnight in the calendar zone,
so an hourly meter's periods are the clock hours and a daily meter's the local days.

A period counts once however many readings arrive in it. A 15-minute bucket holds **measured**
data when a reading arrived in it or its consumption comes from two readings no further apart than
1.5 declared intervals; a bucket whose consumption was spread over a gap and that received no
reading is **estimated**. A longer period is measured when any of its buckets is, estimated when
it has buckets but none measured, else missing.

Expected periods are those whose start lies in [since, until): ``since`` is the later of the
window's start and the point's commissioning (its registered ``commissioned`` date at local
midnight, else the period of its first reading; a point that never reported and has no date owes
the whole window); ``until`` is the earliest of the window's end, now and its registered
``decommissioned`` date at local midnight (the first day it is no longer expected). A meter that
went silent is missing until it returns (then the gap's periods become estimated).

Share = measured / expected (0 when nothing is expected); the estimated share is reported apart.
Wall-clock arithmetic: exact for zones without daylight saving time (Asia/Shanghai).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

BUCKET_S = 900
# multiples of 15 minutes that divide a day: 900 s x each divisor of 96
PERIODS_S = tuple(BUCKET_S * k for k in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96))
DEFAULT_THRESHOLD = 0.9
_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001 - a wall-clock origin (a local midnight)


def collection_period_s(interval_s: int) -> int:
    """The period a point is counted in: the shortest of :data:`PERIODS_S` not shorter than its
    declared reading interval (a day for anything longer)."""
    return next((p for p in PERIODS_S if p >= interval_s), PERIODS_S[-1])


def bucket_measured(readings: int, estimated: bool) -> bool:
    """A stored 15-minute bucket holds measured data (else it is estimated)."""
    return readings > 0 or not estimated


def _wall_s(ts: datetime, zone: ZoneInfo) -> float:
    """Seconds of local wall-clock time since a local midnight."""
    return (ts.astimezone(zone).replace(tzinfo=None) - _EPOCH).total_seconds()


def period_start(ts: datetime, period_s: int, zone: ZoneInfo) -> datetime:
    """The start of the period holding ``ts``, as an aware local time."""
    wall = math.floor(_wall_s(ts, zone) / period_s) * period_s
    return (_EPOCH + timedelta(seconds=wall)).replace(tzinfo=zone)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def expected_periods(start: datetime, end: datetime, *, period_s: int, zone: ZoneInfo) -> int:
    """Periods whose start lies in [start, end)."""
    if end <= start:
        return 0
    first = math.ceil(_wall_s(start, zone) / period_s)
    stop = math.ceil(_wall_s(end, zone) / period_s)
    return max(0, stop - first)


@dataclass(frozen=True, slots=True)
class ServiceSpan:
    """What a point owes over a window: periods starting in [since, until)."""

    since: datetime
    until: datetime

    @classmethod
    def of(
        cls,
        *,
        start: datetime,
        end: datetime,
        now: datetime,
        zone: ZoneInfo,
        period_s: int,
        first_data: datetime | None = None,
        commissioned: date | None = None,
        decommissioned: date | None = None,
    ) -> ServiceSpan:
        """``first_data``: the point's first reading (or first bucket) ever; a registered
        ``commissioned`` date takes precedence over it."""
        since = start
        if commissioned is not None:
            since = max(start, local_midnight(commissioned, zone))
        elif first_data is not None:
            since = max(start, period_start(first_data, period_s, zone))
        until = min(end, now)
        if decommissioned is not None:
            until = min(until, local_midnight(decommissioned, zone))
        return cls(since, until)

    def expected(self, period_s: int, zone: ZoneInfo) -> int:
        return expected_periods(self.since, self.until, period_s=period_s, zone=zone)

    def holds(self, period: datetime) -> bool:
        return self.since <= period < self.until


class _Shares:
    __slots__ = ()
    expected: int
    measured: int
    estimated: int

    @property
    def share(self) -> float:
        """Measured periods / expected periods (0 when none is expected)."""
        return min(1.0, self.measured / self.expected) if self.expected else 0.0

    @property
    def estimated_share(self) -> float:
        return min(1.0, self.estimated / self.expected) if self.expected else 0.0

    @property
    def missing(self) -> int:
        return max(0, self.expected - self.measured - self.estimated)

    def sufficient(self, threshold: float = DEFAULT_THRESHOLD) -> bool:
        """At least ``threshold`` of the expected periods measured (nothing expected: no)."""
        # compared in whole periods, so that 0.9 x 960 is not lost to float rounding
        return self.expected > 0 and self.measured >= math.ceil(threshold * self.expected - 1e-9)


@dataclass(frozen=True, slots=True)
class Completeness(_Shares):
    expected: int
    measured: int
    estimated: int


@dataclass(frozen=True, slots=True)
class PointCompleteness(_Shares):
    point_id: int
    expected: int
    measured: int
    estimated: int


def combined(parts: Iterable[_Shares]) -> Completeness:
    """Several points' periods together (e.g. every IT meter of a data centre)."""
    expected = measured = estimated = 0
    for p in parts:
        expected += p.expected
        measured += p.measured
        estimated += p.estimated
    return Completeness(expected, measured, estimated)


def classify(
    buckets: Iterable[tuple[datetime, int, bool]],
    span: ServiceSpan,
    *,
    period_s: int,
    zone: ZoneInfo,
) -> tuple[int, int]:
    """(measured, estimated) periods of ``span`` from stored buckets ``(start, readings,
    estimated)``; buckets whose period starts outside the span do not count."""
    state: dict[datetime, bool] = {}
    for start, readings, estimated in buckets:
        period = period_start(start, period_s, zone)
        if span.holds(period):
            state[period] = state.get(period, False) or bucket_measured(readings, estimated)
    measured = sum(state.values())
    return measured, len(state) - measured


def point_completeness(
    point_id: int,
    buckets: Iterable[tuple[datetime, int, bool]],
    span: ServiceSpan,
    *,
    period_s: int,
    zone: ZoneInfo,
) -> PointCompleteness:
    """A point's completeness over ``span`` from its stored buckets."""
    measured, estimated = classify(buckets, span, period_s=period_s, zone=zone)
    return PointCompleteness(point_id, span.expected(period_s, zone), measured, estimated)

"""Worked cases for completeness: expected collection periods that hold measured data, whatever
the reading rate (every count below is computed by hand in the case's comment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.domain.buckets import buckets
from services.core.domain.completeness import (
    PointCompleteness,
    ServiceSpan,
    collection_period_s,
    expected_periods,
    point_completeness,
)
from services.core.domain.counters import Reading, intervals

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)
LATER = DAY + timedelta(days=30)  # "now", well after every window


def _readings(step: timedelta, start: datetime, stop: datetime, silent=()) -> list[Reading]:
    """A counter rising 1 per minute, read every ``step`` in [start, stop) except inside the
    half-open ``silent`` ranges."""
    out, ts = [], start
    while ts < stop:
        if not any(a <= ts < b for a, b in silent):
            out.append(Reading(ts, (ts - DAY).total_seconds() / 60))
        ts += step
    return out


def _completeness(
    readings: list[Reading],
    *,
    interval_s: int,
    start: datetime = DAY,
    end: datetime = DAY + timedelta(days=1),
    now: datetime = LATER,
    commissioned: date | None = None,
    decommissioned: date | None = None,
) -> PointCompleteness:
    period = collection_period_s(interval_s)
    stored = buckets(intervals(readings).intervals, readings, interval_s=interval_s)
    span = ServiceSpan.of(
        start=start,
        end=end,
        now=now,
        zone=SHANGHAI,
        period_s=period,
        first_data=min((r.ts for r in readings), default=None),
        commissioned=commissioned,
        decommissioned=decommissioned,
    )
    rows = [(b.start, b.readings, b.estimated) for b in stored.values()]
    return point_completeness(1, rows, span, period_s=period, zone=SHANGHAI)


def _at(hh: int, mm: int = 0) -> datetime:
    return DAY + timedelta(hours=hh, minutes=mm)


@dataclass(frozen=True)
class Case:
    name: str
    step_min: int
    interval_s: int
    silent: tuple[tuple[datetime, datetime], ...]
    expected: int
    measured: int
    estimated: int


CASES = [
    # every minute, silent 06:00-12:00: the 24 buckets 06:00..11:45 get the gap's energy spread
    # over them (estimated); 05:45 and 12:00 hold readings. 96 - 24 = 72 measured.
    Case("every minute, six hours silent", 1, 900, ((_at(6), _at(12)),), 96, 72, 24),
    # the same meter declared at its true interval: the same periods (the period is 15 minutes)
    Case("every minute declared 60 s", 1, 60, ((_at(6), _at(12)),), 96, 72, 24),
    # every 5 minutes (3 readings a bucket), silent from 08:05 to the end of the day and not back:
    # buckets 00:00..08:00 hold readings (33), the rest is missing, nothing estimated.
    Case("every 5 minutes, stops at 08:00", 5, 900, ((_at(8, 5), _at(24)),), 96, 33, 0),
    # every 15 minutes, 10:15..13:45 missing (15 readings): the gap 10:00 -> 14:00 is spread
    # over 10:00..13:45; 10:00 holds its reading, so 15 estimated, 81 measured.
    Case("every 15 minutes, four hours silent", 15, 900, ((_at(10, 15), _at(14)),), 96, 81, 15),
    # hourly meter (periods are clock hours): 24 expected; readings 03:00..08:00 missing (6);
    # the gap 02:00 -> 09:00 makes hours 03..08 estimated; hour 02 holds its reading.
    Case("hourly, six readings missing", 60, 3600, ((_at(3), _at(9)),), 24, 18, 6),
    # the hourly meter counted as if it were a 15-minute one would be 24 of 96; it is not.
    Case("hourly, all there", 60, 3600, (), 24, 24, 0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_completeness_counts_periods_not_readings(case: Case) -> None:
    readings = _readings(timedelta(minutes=case.step_min), DAY, _at(24), case.silent)
    got = _completeness(readings, interval_s=case.interval_s)
    assert (got.expected, got.measured, got.estimated) == (
        case.expected,
        case.measured,
        case.estimated,
    )
    assert got.share == pytest.approx(case.measured / case.expected)
    assert got.estimated_share == pytest.approx(case.estimated / case.expected)


def test_a_meter_reporting_three_times_as_often_as_declared_stays_at_three_sevenths() -> None:
    """The issue's case: every 5 minutes, declared 900 s, silent after day 3 of 7."""
    week = DAY + timedelta(days=7)
    readings = _readings(timedelta(minutes=5), DAY, DAY + timedelta(days=3))
    got = _completeness(readings, interval_s=900, end=week)
    # 3 days x 96 buckets hold readings; 7 x 96 expected
    assert (got.expected, got.measured, got.estimated) == (672, 288, 0)
    assert got.share == pytest.approx(3 / 7)
    assert not got.sufficient(0.9)


def test_a_daily_meter_counts_local_days() -> None:
    # read at 00:05 on days 1-7 of a week except day 4: the gap day 3 -> day 5 (48 h > 36 h)
    # makes day 4 estimated; days 3 and 5 hold their readings.
    week = DAY + timedelta(days=7)
    readings = [Reading(DAY + timedelta(days=d, minutes=5), 100.0 * d) for d in range(7) if d != 3]
    got = _completeness(readings, interval_s=86400, end=week)
    assert (got.expected, got.measured, got.estimated) == (7, 6, 1)


def test_a_point_counts_from_its_first_reading_or_from_its_commissioning_date() -> None:
    readings = _readings(timedelta(minutes=15), _at(12), _at(24))
    assert _completeness(readings, interval_s=900).expected == 48  # from 12:00: 48 periods
    assert _completeness(readings, interval_s=900).share == 1.0
    # registered as commissioned that day: it owed the morning too
    registered = _completeness(readings, interval_s=900, commissioned=DAY.date())
    assert (registered.expected, registered.measured) == (96, 48)


def test_a_decommissioned_meter_owes_nothing_from_that_date() -> None:
    two_days = DAY + timedelta(days=2)
    readings = _readings(timedelta(minutes=15), DAY, _at(24))
    got = _completeness(
        readings, interval_s=900, end=two_days, decommissioned=(DAY + timedelta(days=1)).date()
    )
    assert (got.expected, got.measured) == (96, 96)


def test_a_window_entirely_before_commissioning_expects_nothing_and_is_not_sufficient() -> None:
    readings = _readings(timedelta(minutes=15), DAY + timedelta(days=3), DAY + timedelta(days=4))
    got = _completeness(readings, interval_s=900)
    assert (got.expected, got.measured, got.estimated) == (0, 0, 0)
    assert got.share == 0.0
    assert not got.sufficient()
    registered = _completeness(
        readings, interval_s=900, commissioned=(DAY + timedelta(days=3)).date()
    )
    assert registered.expected == 0


def test_a_window_not_aligned_to_15_minutes_counts_the_periods_starting_in_it() -> None:
    readings = _readings(timedelta(minutes=5), DAY, _at(24))
    # [10:07, 11:07): buckets 10:15, 10:30, 10:45, 11:00 start inside, as for energy
    got = _completeness(readings, interval_s=900, start=_at(10, 7), end=_at(11, 7))
    assert (got.expected, got.measured) == (4, 4)
    hourly = _completeness(
        _readings(timedelta(hours=1), DAY, _at(24)),
        interval_s=3600,
        start=_at(10, 7),
        end=_at(12, 7),
    )
    assert (hourly.expected, hourly.measured) == (2, 2)  # 11:00 and 12:00


def test_expected_periods_stop_at_now() -> None:
    readings = _readings(timedelta(minutes=15), DAY, _at(12, 5))
    got = _completeness(readings, interval_s=900, now=_at(12, 5))
    assert (got.expected, got.measured) == (49, 49)  # 00:00 .. 12:00 inclusive


@pytest.mark.parametrize(
    ("interval_s", "period_s"),
    [
        (1, 900),
        (60, 900),
        (300, 900),
        (900, 900),
        (901, 1800),
        (1200, 1800),
        (1800, 1800),
        (3600, 3600),
        (4000, 5400),
        (7200, 7200),
        (43200, 43200),
        (86400, 86400),
        (100000, 86400),
    ],
)
def test_a_declared_interval_maps_to_the_shortest_period_not_shorter(
    interval_s: int, period_s: int
) -> None:
    assert collection_period_s(interval_s) == period_s


def test_expected_periods_of_a_year_are_its_days_times_96() -> None:
    jan1 = datetime(2026, 1, 1, tzinfo=SHANGHAI)
    assert expected_periods(jan1, jan1.replace(year=2027), period_s=900, zone=SHANGHAI) == 365 * 96


@pytest.mark.parametrize(
    ("measured", "sufficient"), [(864, True), (865, True), (863, False), (854, False)]
)
def test_ninety_percent_is_sufficient_and_anything_below_is_not(
    measured: int, sufficient: bool
) -> None:
    # 864 / 960 = 90.0 %, 863 / 960 = 89.9 %, 854 / 960 = 89.0 %
    assert PointCompleteness(1, 960, measured, 0).sufficient(0.9) is sufficient

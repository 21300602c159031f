"""Worked cases for counter consumption and 15-minute buckets (docs/accounting.md)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.domain.buckets import buckets, by_local_day
from services.core.domain.counters import Flag, Reading, Replacement, intervals

T0 = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def _r(*values: float, step_min: int = 15) -> list[Reading]:
    return [Reading(T0 + timedelta(minutes=step_min * i), v) for i, v in enumerate(values)]


def _energies(readings: list[Reading], **kw: object) -> list[tuple[float, Flag]]:
    return [(round(iv.energy, 6), iv.flag) for iv in intervals(readings, **kw).intervals]


def test_consumption_is_the_counter_difference_times_the_multiplier() -> None:
    assert _energies(_r(100, 110, 125), multiplier=80) == [(800.0, Flag.OK), (1200.0, Flag.OK)]


def test_a_rollover_counts_only_the_wrapped_amount() -> None:
    assert _energies(_r(99_999_990.0, 99_999_999.0, 5.0), register_max=99_999_999.99) == [
        (9.0, Flag.OK),
        (5.99, Flag.ROLLOVER),
    ]


def test_a_drop_to_near_zero_is_a_reset_and_consumption_restarts_from_the_new_value() -> None:
    assert _energies(_r(5000, 5010, 3, 8)) == [(10.0, Flag.OK), (3.0, Flag.RESET), (5.0, Flag.OK)]


def test_a_registered_replacement_keeps_the_series_continuous() -> None:
    swap = Replacement(T0 + timedelta(minutes=20), old_final=5012, new_first=0.5)
    assert _energies(_r(5000, 5010, 2.5, 4.5), replacements=[swap]) == [
        (10.0, Flag.OK),
        (2.0 + 2.0, Flag.REPLACEMENT),
        (2.0, Flag.OK),
    ]


def test_a_one_off_dip_is_ignored_and_nothing_is_re_based_on_it() -> None:
    result = intervals(_r(1000, 1010, 900, 1030))
    assert [(iv.energy, iv.flag) for iv in result.intervals] == [(10.0, Flag.OK), (20.0, Flag.OK)]
    assert [r.value for r in result.skipped] == [900]


def test_a_spike_above_the_physical_limit_is_excluded_not_summed() -> None:
    # 15 min at a 100 kW limit is at most 25 kWh
    assert _energies(_r(0, 20, 520, 540), max_power=100) == [
        (20.0, Flag.OK),
        (0.0, Flag.SPIKE_EXCLUDED),
        (20.0, Flag.OK),
    ]
    # a high bad read that falls back is skipped instead
    result = intervals(_r(0, 20, 5000, 40), max_power=100)
    assert [(iv.energy, iv.flag) for iv in result.intervals] == [(20.0, Flag.OK), (20.0, Flag.OK)]


def test_nothing_negative_is_ever_counted() -> None:
    assert all(e >= 0 for e, _ in _energies(_r(100, 90, 80, 70, 60)))


def test_a_gap_is_spread_over_the_missing_buckets_and_marked_estimated() -> None:
    readings = [
        Reading(T0, 0),
        Reading(T0 + timedelta(minutes=15), 10),
        Reading(T0 + timedelta(minutes=75), 70),
    ]  # 08:15 -> 09:15 missing
    result = buckets(intervals(readings).intervals, readings, interval_s=900)
    assert [(b.start.minute, round(b.energy, 6), b.estimated) for b in result.values()] == [
        (0, 10.0, False),
        (15, 15.0, True),
        (30, 15.0, True),
        (45, 15.0, True),
        (0, 15.0, True),
        (15, 0.0, False),  # the 09:15 reading opens the next bucket
    ]
    assert [b.completeness for b in result.values()] == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_one_minute_readings_fill_a_bucket_and_give_its_completeness() -> None:
    readings = [Reading(T0 + timedelta(minutes=m), float(m)) for m in range(0, 31) if m != 7]
    result = buckets(intervals(readings).intervals, readings, interval_s=60)
    first = result[T0]
    assert first.energy == pytest.approx(15.0)
    assert (first.readings, first.expected) == (14, 15)
    assert first.completeness == pytest.approx(14 / 15)


def test_a_reading_at_23_59_and_one_at_00_01_local_fall_in_different_days() -> None:
    midnight = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 00:00 on the 24th in Shanghai
    readings = [
        Reading(midnight - timedelta(minutes=16), 0),
        Reading(midnight - timedelta(minutes=1), 15),
        Reading(midnight + timedelta(minutes=1), 17),
        Reading(midnight + timedelta(minutes=14), 30),
    ]
    days = by_local_day(buckets(intervals(readings).intervals, readings, interval_s=900))
    assert days[date(2026, 11, 23)] == pytest.approx(15 + 1)  # 23:44-23:59, half of 23:59-00:01
    assert days[date(2026, 11, 24)] == pytest.approx(1 + 13)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 3))
def test_any_order_and_duplication_gives_the_same_buckets(rng: random.Random, dups: int) -> None:
    values, v = [], 0.0
    for _ in range(40):
        v += rng.uniform(0, 5)
        values.append(round(v, 3))
    readings = _r(*values, step_min=5)
    shuffled = readings + rng.sample(readings, k=min(dups * 5, len(readings)))
    rng.shuffle(shuffled)
    in_order = buckets(intervals(readings).intervals, readings, interval_s=300)
    assert buckets(intervals(shuffled).intervals, shuffled, interval_s=300) == in_order

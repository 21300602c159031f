"""Energy integrated from power samples: trapezoids, imports only, gaps bridged or not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.domain.buckets import buckets
from services.core.domain.counters import Reading
from services.core.domain.power import integrate

T0 = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # 00:00 on the 17th in Shanghai
MINUTE = timedelta(minutes=1)


def test_a_steady_load_for_an_hour_is_its_power_in_kwh() -> None:
    samples = [Reading(T0 + i * MINUTE, 120.0) for i in range(61)]
    found = integrate(samples, multiplier=1.0)
    assert len(found) == 60
    assert sum(i.energy for i in found) == pytest.approx(120.0)
    quarter = buckets(found, samples, interval_s=60)
    assert [round(b.energy, 9) for b in quarter.values()][:4] == [30.0] * 4
    assert not any(b.estimated for b in quarter.values())


def test_a_ramp_is_the_trapezoid_and_the_multiplier_applies() -> None:
    # 0 kW to 60 kW over an hour, on a meter behind a 40:1 transformer
    samples = [Reading(T0, 0.0), Reading(T0 + 60 * MINUTE, 60.0)]
    [only] = integrate(samples, multiplier=40.0)
    assert only.energy == pytest.approx(30.0 * 40)


def test_export_counts_as_nothing_imported() -> None:
    samples = [
        Reading(T0, -50.0),
        Reading(T0 + 30 * MINUTE, -10.0),
        Reading(T0 + 60 * MINUTE, 20.0),
    ]
    first, second = integrate(samples)
    assert first.energy == 0.0
    assert second.energy == pytest.approx((0 + 20.0) / 2 * 0.5)  # the export end counts 0


def test_a_short_gap_is_bridged_and_estimated_a_long_one_is_left_empty() -> None:
    samples = [Reading(T0, 100.0), Reading(T0 + 45 * MINUTE, 100.0)]  # 45 min without samples
    bridged = integrate(samples, max_gap_s=3600)
    assert sum(i.energy for i in bridged) == pytest.approx(75.0)
    assert all(b.estimated for b in buckets(bridged, samples, interval_s=60).values() if b.energy)
    far = [Reading(T0, 100.0), Reading(T0 + 3 * 60 * MINUTE, 100.0)]  # three hours
    assert integrate(far, max_gap_s=3600) == ()


@given(
    st.lists(st.floats(min_value=-500, max_value=5000), min_size=2, max_size=40),
    st.randoms(use_true_random=False),
)
def test_order_and_duplicates_do_not_change_the_energy(powers: list[float], rng: object) -> None:
    samples = [Reading(T0 + i * MINUTE, p) for i, p in enumerate(powers)]
    shuffled = samples + samples[: len(samples) // 2]
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert integrate(shuffled) == integrate(samples)
    assert all(i.energy >= 0 for i in integrate(samples))

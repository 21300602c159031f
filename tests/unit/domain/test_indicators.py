"""Worked examples: standard coal, CO2, PUE with coverage, budget states, peak demand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.core.domain.budget import BudgetState, budget_status
from services.core.domain.coefficients import ElectricityMethod, HeatingValue, NoFactorError
from services.core.domain.demand import baseline_kw, peak_kw, reduction, similar_days
from services.core.domain.pue import (
    PueStatus,
    PueVerdict,
    Window,
    pue,
    pue_limit,
    pue_verdict,
    size_class,
    window_bounds,
)
from services.core.factors import default_factors

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_one_million_kwh_is_122_9_tce_by_the_equivalent_value() -> None:
    result = default_factors().kgce("electricity", 1_000_000, "kWh", date(2024, 6, 1))
    assert result.value / 1000 == pytest.approx(122.9)
    assert result.factor.source.startswith("GB/T 2589-2020")


@pytest.mark.parametrize(
    ("carrier", "amount", "unit", "kgce"),
    [
        ("natural_gas", 1000, "m3", 1214.3),
        ("steam", 10, "t", 1286.0),
        ("heat", 100, "GJ", 3412.0),
        ("heat", 1000, "MJ", 34.12),
        ("diesel", 1, "t", 1457.1),
        ("raw_coal", 1000, "kg", 714.3),
    ],
)
def test_other_carriers_use_the_annex_a_coefficients(
    carrier: str, amount: float, unit: str, kgce: float
) -> None:
    assert default_factors().kgce(carrier, amount, unit, date(2024, 1, 1)).value == (
        pytest.approx(kgce)
    )


def test_a_measured_heating_value_converts_coke_oven_gas_and_takes_precedence() -> None:
    """500 000 m3 of coke-oven gas at a measured 17 500 kJ/m3 is 500 000 x 17 500 / 29 307 =
    298 563.5 kgce; a measured value for steam replaces the Annex A coefficient while valid."""
    measured = default_factors().with_measured(
        [
            HeatingValue("coke_oven_gas", "m3", 17_500, date(2026, 1, 1), None, "works lab"),
            HeatingValue("steam", "t", 3_000_000, date(2026, 6, 1), date(2026, 6, 30), "lab"),
        ]
    )
    gas = measured.kgce("coke_oven_gas", 500_000, "m3", date(2026, 11, 1))
    assert gas.value == pytest.approx(298_563.5, abs=0.1)
    assert "measured low calorific value 17500 kJ/m3" in gas.factor.source
    assert measured.kgce("steam", 1, "t", date(2026, 6, 15)).value == pytest.approx(102.36, 1e-3)
    assert measured.kgce("steam", 1, "t", date(2026, 7, 1)).value == pytest.approx(128.6)
    with pytest.raises(NoFactorError):
        default_factors().kgce("coke_oven_gas", 1, "m3", date(2026, 11, 1))


def test_the_equal_value_method_is_a_setting_and_flagged_uncertain() -> None:
    result = default_factors().kgce(
        "electricity", 1000, "kWh", date(2024, 1, 1), ElectricityMethod.EQUAL
    )
    assert result.value == pytest.approx(305.0)
    assert result.factor.uncertain


@pytest.mark.parametrize(
    ("year", "region", "tco2", "note"),
    [
        (2021, "national", 0.5568, ""),
        (2022, "national", 0.5366, ""),
        (2023, "national", 0.5306, ""),
        (2023, "north", 0.6361, ""),
        (2025, "north", 0.6361, ""),  # latest published factor until replaced
        (2022, "north", 0.5366, "no north grid factor for 2022; national factor used"),
    ],
)
def test_grid_factors_by_year_and_region(year: int, region: str, tco2: float, note: str) -> None:
    result = default_factors().tco2("electricity", 1000, "kWh", date(year, 7, 1), region)
    assert result.value == pytest.approx(tco2)
    assert result.note == note


def test_a_date_without_a_factor_is_an_error_not_a_guess() -> None:
    with pytest.raises(NoFactorError, match="2019"):
        default_factors().kgce("electricity", 1, "kWh", date(2019, 12, 31))


def test_pue_of_1300_over_1000_kwh_is_1_30_and_low_coverage_is_insufficient_data() -> None:
    ok = pue(1300, 1000, facility_coverage=0.97, it_coverage=0.95)
    assert (ok.status, ok.ratio) == (PueStatus.OK, pytest.approx(1.30))
    low = pue(1300, 1000, facility_coverage=0.5, it_coverage=0.95)
    assert (low.status, low.ratio) == (PueStatus.INSUFFICIENT_DATA, None)
    assert pue(10, 0, facility_coverage=1, it_coverage=1).status == PueStatus.NO_IT_LOAD


def test_limits_come_from_the_class_or_an_explicit_value() -> None:
    assert pue_limit("new_large") == 1.25
    assert pue_limit("new_super_large") == 1.25
    assert pue_limit("existing") == 1.5
    assert pue_limit("existing", 1.4) == 1.4
    assert [size_class(n) for n in (12_000, 3_000, 2_999)] == [
        "super_large",
        "large",
        "medium_or_small",
    ]


def test_calendar_windows_start_at_local_midnight() -> None:
    now = datetime(2026, 3, 15, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert window_bounds(Window.YEAR_TO_DATE, now, SHANGHAI)[0] == datetime(
        2026, 1, 1, tzinfo=SHANGHAI
    )
    assert window_bounds(Window.MONTH_TO_DATE, now, SHANGHAI)[0] == datetime(
        2026, 3, 1, tzinfo=SHANGHAI
    )
    assert window_bounds(Window.DAY, now, SHANGHAI)[0].astimezone(UTC) == datetime(
        2026, 3, 14, 16, tzinfo=UTC
    )


YEAR = (datetime(2026, 1, 1, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI))
JULY = datetime(2026, 7, 2, tzinfo=SHANGHAI)  # day 182 of 365


@pytest.mark.parametrize(
    ("used", "recent", "state", "passed"),
    [
        (450, 74, BudgetState.OK, None),  # on track: 450 + 74/30 x 183 = 901
        (450, 120, BudgetState.PROJECTED_OVERRUN, None),  # run-rate gives 1 182 > 1 000
        (850, 10, BudgetState.WARNING, 0.8),  # 85 % used
        (920, 10, BudgetState.WARNING, 0.9),
        (1010, 10, BudgetState.EXCEEDED, 0.9),
    ],
)
def test_budget_states(
    used: float, recent: float, state: BudgetState, passed: float | None
) -> None:
    status = budget_status(
        budget=1000,
        used=used,
        period_start=YEAR[0],
        period_end=YEAR[1],
        now=JULY,
        recent_use=recent,
    )
    assert (status.state, status.threshold_passed) == (state, passed)


def test_on_track_by_run_rate_but_projected_to_110_percent_by_last_year() -> None:
    status = budget_status(
        budget=1000,
        used=440,
        period_start=YEAR[0],
        period_end=YEAR[1],
        now=JULY,
        recent_use=70,
        last_year_share_by_now=0.4,
    )
    assert status.projected_last_year == pytest.approx(1100)
    assert status.state == BudgetState.PROJECTED_OVERRUN


def test_peak_demand_and_a_response_events_reduction_against_five_similar_days() -> None:
    event_day = datetime(2026, 11, 24, 14, 0, tzinfo=SHANGHAI)  # a Tuesday
    buckets: dict[datetime, float] = {}
    for d in similar_days(event_day.date(), 5):
        slot = datetime.combine(d, event_day.time(), tzinfo=SHANGHAI)
        buckets[slot] = 250.0  # 1 000 kW on similar days
    buckets[event_day] = 200.0  # 800 kW during the event
    buckets[event_day - timedelta(days=10)] = 300.0  # the period's peak: 1 200 kW
    assert peak_kw(buckets) == (event_day - timedelta(days=10), 1200.0)
    assert baseline_kw(buckets, event_day, SHANGHAI) == 1000.0
    result = reduction(buckets, [event_day], SHANGHAI, peak=1200.0)
    assert result is not None
    assert (result.reduction_kw, result.share_of_peak) == (200.0, pytest.approx(1 / 6))
    assert similar_days(date(2026, 11, 29), 2) == [date(2026, 11, 28), date(2026, 11, 22)]


@pytest.mark.parametrize(
    ("facility", "it", "coverage", "limit", "hysteresis", "verdict"),
    [
        (125.0, 100.0, 1.0, 1.25, 0.0, PueVerdict.WITHIN),  # at the limit is within
        (125.1, 100.0, 1.0, 1.25, 0.0, PueVerdict.OVER),
        (124.0, 100.0, 1.0, 1.25, 0.02, PueVerdict.OVER),  # live alert: clears below 1.23
        (122.9, 100.0, 1.0, 1.25, 0.02, PueVerdict.WITHIN),
        (300.0, 100.0, 0.5, 1.25, 0.0, PueVerdict.INSUFFICIENT_DATA),  # never a breach
        (50.0, 0.0, 1.0, 1.5, 0.0, PueVerdict.NO_IT_LOAD),
        (130.0, 100.0, 1.0, None, 0.0, PueVerdict.NO_LIMIT),
    ],
)
def test_the_pue_verdict_against_the_limit(
    facility: float,
    it: float,
    coverage: float,
    limit: float | None,
    hysteresis: float,
    verdict: PueVerdict,
) -> None:
    result = pue(facility, it, facility_coverage=coverage, it_coverage=1.0)
    assert pue_verdict(result, limit, hysteresis=hysteresis) is verdict

"""Energy intensity, worked by hand: comprehensive energy (GB/T 2589-2020), unit-product energy,
energy per 10^4 CNY value added, year on year and the district aggregate."""

from __future__ import annotations

from datetime import date

import pytest

from services.core.domain.coefficients import ElectricityMethod, Factor, FactorSet, HeatingValue
from services.core.domain.completeness import Completeness
from services.core.domain.intensity import (
    CarrierMonth,
    Intensity,
    IntensityPeriod,
    ProductionFigure,
    Window,
    comprehensive_energy,
    district_intensity,
    unit_product_energy,
    value_added_energy,
    year_on_year,
)
from services.core.domain.quota import PlantStatus, QuotaVerdict, judge
from services.core.factors import default_factors
from services.core.quotas import default_quotas

FULL = Completeness(expected=2976, measured=2976, estimated=0)  # a 31-day month, 15 min
NOV = date(2026, 11, 1)


def _factor(carrier: str, unit: str, kgce: float, method: str | None = None) -> Factor:
    return Factor(carrier, unit, kgce, date(2020, 1, 1), None, f"test {carrier}", method)


# coke-oven gas converts only by the plant's measured low calorific value (no reference
# coefficient is shipped, docs/quotas.md): 17 584.2 kJ/m3 / 29 307 kJ/kgce = 0.6 kgce/m3; the
# electricity and steam coefficients are the shipped GB/T 2589-2020 Annex A ones
STEEL_FACTORS = default_factors().with_measured(
    [HeatingValue("coke_oven_gas", "m3", 17_584.2, date(2026, 1, 1), None, "works laboratory")]
)


@pytest.mark.parametrize(
    ("period", "month", "months"),
    [
        (IntensityPeriod.MONTH, 11, [(2026, 11)]),
        (IntensityPeriod.QUARTER, 11, [(2026, 10), (2026, 11), (2026, 12)]),
        (IntensityPeriod.QUARTER, 1, [(2026, 1), (2026, 2), (2026, 3)]),
        (IntensityPeriod.YTD, 3, [(2026, 1), (2026, 2), (2026, 3)]),
        (IntensityPeriod.YTD, 1, [(2026, 1)]),
    ],
)
def test_a_window_covers_its_month_quarter_or_year_to_date(
    period: IntensityPeriod, month: int, months: list[tuple[int, int]]
) -> None:
    assert Window(2026, month, period).months == tuple(date(y, m, 1) for y, m in months)


def test_last_year_of_january_is_january_of_the_previous_year() -> None:
    assert Window(2026, 1).last_year().months == (date(2025, 1, 1),)
    assert Window(2026, 2, IntensityPeriod.QUARTER).last_year().label == "2025-Q1"


def test_steel_plant_energy_is_every_carrier_in_kgce_by_its_annex_a_coefficient() -> None:
    amounts = [
        CarrierMonth(NOV, "electricity", "kWh", 1_000_000.0),  # x 0.1229 = 122 900 kgce
        # a shared feeder of which the product takes half: 400 000 x 0.5 x 0.1229 = 24 580
        CarrierMonth(NOV, "electricity", "kWh", 400_000.0, share=0.5),
        CarrierMonth(NOV, "coke_oven_gas", "m3", 200_000.0),  # x 0.6 = 120 000 kgce
        CarrierMonth(NOV, "steam", "t", 500.0),  # x 128.6 = 64 300 kgce
        CarrierMonth(NOV, "water", "m3", 9_999.0),  # no energy carrier: left out
    ]
    energy = comprehensive_energy(amounts, STEEL_FACTORS)
    assert energy.kgce == pytest.approx(331_780.0)
    assert energy.tce == pytest.approx(331.78)
    assert energy.method == "equivalent"
    lines = {c.carrier: c for c in energy.carriers}
    assert set(lines) == {"electricity", "coke_oven_gas", "steam"}
    assert lines["electricity"].amount == pytest.approx(1_200_000.0)
    assert lines["electricity"].kgce == pytest.approx(147_480.0)
    assert lines["electricity"].method == "equivalent"
    assert lines["steam"].method is None
    assert (lines["steam"].factor_kgce, lines["steam"].factor_unit) == (128.6, "t")
    assert lines["coke_oven_gas"].source.startswith("measured low calorific value 17584.2 kJ/m3")

    output = [ProductionFigure(NOV, 1000.0, "t", revision=1, entered_by="clerk")]
    figure = unit_product_energy(
        Window(2026, 11), energy, output, FULL, unit="t", attributed=True, threshold=0.9
    )
    assert figure.value == pytest.approx(331.78)  # kgce/t
    assert figure.unit == "kgce/t"
    assert figure.reason == ""


def test_electricity_at_equal_value_is_named_and_uses_the_supply_coal_rate() -> None:
    energy = comprehensive_energy(
        [CarrierMonth(NOV, "electricity", "kWh", 1_000_000.0)],
        STEEL_FACTORS,
        ElectricityMethod.EQUAL,
    )
    assert energy.kgce == pytest.approx(305_000.0)
    assert energy.method == "equal"
    assert energy.carriers[0].method == "equal"


def test_each_month_is_converted_with_the_factor_valid_in_it() -> None:
    old = Factor("steam", "t", 100.0, date(2020, 1, 1), date(2026, 10, 31), "old steam")
    new = Factor("steam", "t", 128.6, date(2026, 11, 1), None, "new steam")
    energy = comprehensive_energy(
        [
            CarrierMonth(date(2026, 10, 1), "steam", "t", 10.0),
            CarrierMonth(NOV, "steam", "t", 10.0),
        ],
        FactorSet((old, new), ()),
    )
    assert energy.kgce == pytest.approx(1000.0 + 1286.0)
    assert {c.source: c.kgce for c in energy.carriers} == {"old steam": 1000.0, "new steam": 1286.0}


def test_a_carrier_without_a_factor_makes_the_figure_insufficient_not_smaller() -> None:
    energy = comprehensive_energy(
        [CarrierMonth(NOV, "coke_oven_gas", "m3", 5.0)], default_factors()
    )
    assert energy.missing_factors == ("coke_oven_gas on 2026-11-01",)
    figure = unit_product_energy(
        Window(2026, 11),
        energy,
        [ProductionFigure(NOV, 1.0, "t")],
        FULL,
        unit="t",
        attributed=True,
        threshold=0.9,
    )
    assert figure.value is None
    assert "no standard-coal factor for coke_oven_gas on 2026-11-01" in figure.reason


ENERGY_1000_TCE = comprehensive_energy(
    [CarrierMonth(NOV, "electricity", "kWh", 1_000_000.0 / 0.1229)], default_factors()
)


@pytest.mark.parametrize(
    ("completeness", "output", "attributed", "reason"),
    [
        (
            Completeness(2976, 2678, 0),
            [ProductionFigure(NOV, 100.0, "t")],
            True,
            "completeness 89.9 % < 90.0 % (2678 of 2976 collection periods measured)",
        ),
        (
            Completeness(0, 0, 0),
            [ProductionFigure(NOV, 100.0, "t")],
            True,
            "no meter data: its meters owed none then (not yet reporting)",
        ),
        (FULL, [], True, "no output entered for 2026-11"),
        (FULL, [ProductionFigure(NOV, 100.0, "t")], False, "no attributed meters"),
        (FULL, [ProductionFigure(NOV, 100.0, "kg")], True, "output entered in kg, not t"),
    ],
)
def test_a_figure_on_too_little_data_is_insufficient_with_the_reason_in_words(
    completeness: Completeness, output: list[ProductionFigure], attributed: bool, reason: str
) -> None:
    figure = unit_product_energy(
        Window(2026, 11),
        ENERGY_1000_TCE,
        output,
        completeness,
        unit="t",
        attributed=attributed,
        threshold=0.9,
    )
    assert figure.value is None
    assert figure.reason == reason


def test_exactly_the_threshold_of_periods_measured_is_sufficient() -> None:
    figure = unit_product_energy(
        Window(2026, 11),
        ENERGY_1000_TCE,
        [ProductionFigure(NOV, 100.0, "t")],
        Completeness(2976, 2679, 0),  # ceil(0.9 x 2976) = 2679
        unit="t",
        attributed=True,
        threshold=0.9,
    )
    assert figure.value == pytest.approx(10_000.0)


def test_a_quarter_missing_one_months_output_is_insufficient() -> None:
    output = [ProductionFigure(date(2026, m, 1), 100.0, "t") for m in (10, 12)]
    figure = unit_product_energy(
        Window(2026, 11, IntensityPeriod.QUARTER),
        ENERGY_1000_TCE,
        output,
        FULL,
        unit="t",
        attributed=True,
        threshold=0.9,
    )
    assert figure.reason == "no output entered for 2026-11"


def _value_added(value: float, revision: int = 1, base: int = 2020) -> list[ProductionFigure]:
    return [
        ProductionFigure(NOV, value, "10^4 CNY", revision, "clerk", price_base_year=base),
    ]


def test_value_added_intensity_uses_the_revised_figure_the_row_holds() -> None:
    # 1 000 tce; value added first entered as 2 000, revised to 2 500 (10^4 CNY, 2020 prices)
    first = value_added_energy(
        Window(2026, 11),
        ENERGY_1000_TCE,
        _value_added(2000.0),
        FULL,
        attributed=True,
        threshold=0.9,
    )
    revised = value_added_energy(
        Window(2026, 11),
        ENERGY_1000_TCE,
        _value_added(2500.0, revision=2),
        FULL,
        attributed=True,
        threshold=0.9,
    )
    assert first.value == pytest.approx(0.5)
    assert revised.value == pytest.approx(0.4)  # tce / 10^4 CNY
    assert revised.unit == "tce/10^4 CNY"
    assert revised.production[0].revision == 2


def test_value_added_at_two_price_bases_in_one_window_is_not_summed() -> None:
    entries = [
        ProductionFigure(date(2026, 1, 1), 100.0, "10^4 CNY", price_base_year=2020),
        ProductionFigure(date(2026, 2, 1), 100.0, "10^4 CNY", price_base_year=2025),
    ]
    figure = value_added_energy(
        Window(2026, 2, IntensityPeriod.YTD),
        ENERGY_1000_TCE,
        entries,
        FULL,
        attributed=True,
        threshold=0.9,
    )
    assert figure.value is None
    assert figure.reason == "value added at prices of different base years (2020, 2025)"


def _va(window: Window, tce: float, value_added: float, base: int = 2020) -> Intensity:
    energy = comprehensive_energy(
        [
            CarrierMonth(m, "steam", "t", tce * 1000 / 128.6 / len(window.months))
            for m in window.months
        ],
        default_factors(),
    )
    entries = [
        ProductionFigure(m, value_added / len(window.months), "10^4 CNY", price_base_year=base)
        for m in window.months
    ]
    return value_added_energy(window, energy, entries, FULL, attributed=True, threshold=0.9)


def test_year_on_year_of_january_compares_with_january_of_the_previous_year() -> None:
    january = Window(2026, 1)
    now = _va(january, 95.0, 100.0)  # 0.95 tce/10^4 CNY
    then = _va(january.last_year(), 100.0, 100.0)  # 1.00 in January 2025
    change = year_on_year(now, then)
    assert change.change == pytest.approx(-0.05)
    assert change.decline == pytest.approx(0.05)
    assert change.text == "down 5.0 % on 2025-01 (1 -> 0.95 tce/10^4 CNY)"


def test_year_on_year_of_a_first_quarter_spans_the_previous_year_only() -> None:
    q1 = Window(2026, 2, IntensityPeriod.QUARTER)
    change = year_on_year(_va(q1, 330.0, 300.0), _va(q1.last_year(), 300.0, 300.0))
    assert change.change == pytest.approx(0.1)
    assert change.text.startswith("up 10.0 % on 2025-Q1")


def test_year_on_year_is_withheld_when_either_year_is_insufficient_or_prices_differ() -> None:
    month = Window(2026, 11)
    gap = value_added_energy(
        month.last_year(), ENERGY_1000_TCE, [], FULL, attributed=True, threshold=0.9
    )
    no_last = year_on_year(_va(month, 1.0, 1.0), gap)
    assert no_last.change is None
    assert (
        no_last.text
        == "no comparison: 2025-11 insufficient data (no value added entered for 2025-11)"
    )
    other_base = year_on_year(_va(month, 1.0, 1.0, 2025), _va(month.last_year(), 1.0, 1.0, 2020))
    assert other_base.change is None
    assert other_base.text.startswith("not comparable")


def test_district_intensity_sums_energy_and_value_added_and_judges_the_decline() -> None:
    month = Window(2026, 11)
    pairs = [
        (_va(month, 90.0, 100.0), _va(month.last_year(), 100.0, 100.0)),
        (_va(month, 194.0, 200.0), _va(month.last_year(), 200.0, 200.0)),
        # insufficient this year: not counted, not compared
        (
            value_added_energy(month, ENERGY_1000_TCE, [], FULL, attributed=True, threshold=0.9),
            _va(month.last_year(), 50.0, 50.0),
        ),
    ]
    d = district_intensity(month, pairs, 0.03)
    assert d.value == pytest.approx(284.0 / 300.0)
    assert (d.enterprises, d.insufficient, d.compared) == (2, 1, 2)
    assert d.previous == pytest.approx(1.0)
    assert d.decline == pytest.approx(16.0 / 300.0)
    assert d.target_met is True
    assert d.text.endswith("target met (5.3 % >= 3.0 % decline)")
    behind = district_intensity(month, pairs, 0.06)
    assert behind.target_met is False
    assert "behind target (5.3 % < 6.0 % decline)" in behind.text
    untargeted = district_intensity(month, pairs, None)
    assert untargeted.target_met is None
    assert untargeted.text.endswith("no target set")


def test_a_district_without_sufficient_enterprises_has_no_figure() -> None:
    month = Window(2026, 11)
    empty = value_added_energy(month, ENERGY_1000_TCE, [], FULL, attributed=True, threshold=0.9)
    d = district_intensity(month, [(empty, empty)], 0.03)
    assert d.value is None
    assert d.text.startswith("insufficient data")


STEEL_MONTH = [
    CarrierMonth(NOV, "electricity", "kWh", 1_000_000.0),
    CarrierMonth(NOV, "electricity", "kWh", 400_000.0, share=0.5),
    CarrierMonth(NOV, "coke_oven_gas", "m3", 200_000.0),
    CarrierMonth(NOV, "steam", "t", 500.0),
]  # 331 780 kgce, as above


@pytest.mark.parametrize(
    ("output_t", "plant", "verdict", "text"),
    [
        # GB 21256-2025 4.3 Table 3, blast-furnace process: 限定值 415, 准入值 370, 先进值 361
        (790.0, PlantStatus.EXISTING, QuotaVerdict.OVER_LIMIT, "over the limit (419.975 > 415"),
        (850.0, PlantStatus.EXISTING, QuotaVerdict.ABOVE_ENTRY, "above the entry value (390.329"),
        (850.0, PlantStatus.NEW, QuotaVerdict.OVER_LIMIT, "over the entry value (390.329 > 370"),
        (1000.0, PlantStatus.EXISTING, QuotaVerdict.LEADER, "leader (331.78 ≤ 361"),
    ],
)
def test_steel_plant_unit_energy_is_judged_against_its_quota_entry(
    output_t: float, plant: PlantStatus, verdict: QuotaVerdict, text: str
) -> None:
    energy = comprehensive_energy(STEEL_MONTH, STEEL_FACTORS)
    figure = unit_product_energy(
        Window(2026, 11),
        energy,
        [ProductionFigure(NOV, output_t, "t")],
        FULL,
        unit="t",
        attributed=True,
        threshold=0.9,
    )
    assert figure.value == pytest.approx(331_780.0 / output_t)
    entry = default_quotas().entry("GB 21256-2025", "steel_blast_furnace", NOV)
    assert entry is not None
    assert entry.unit == figure.unit
    judged = judge(figure.value, entry, plant, sufficient=figure.sufficient, reason=figure.reason)
    assert judged.verdict is verdict
    assert judged.text.startswith(text)

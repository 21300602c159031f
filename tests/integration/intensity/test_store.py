"""Intensity figures read from the rollups, the registry's attribution and the production
entries: each worked by hand from the counters fed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.core.db import make_engine
from services.core.domain.intensity import IntensityPeriod, Window
from services.core.factors import default_factors
from services.core.quotas import default_quotas
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.core.store.intensity import EnterpriseIntensity, intensities
from tests.support.intensity import (
    ENT_A,
    ENT_B,
    SHANGHAI,
    district_text,
    enter,
    feed_month,
    provision,
)

NOV = date(2026, 11, 1)
NOV_LAST = date(2025, 11, 1)
NOW = datetime(2026, 12, 5, tzinfo=UTC)
BUCKETS = 30 * 96
# per bucket: M-100 1 kWh x80, G-1 0.5 m3, DC-IN-1 2 kWh, B-1 1 kWh
STEPS = {
    ("M-100", "energy_import_kwh"): 1.0,
    ("G-1", "gas_volume_m3"): 0.5,
    ("DC-IN-1", "energy_import_kwh"): 2.0,
    ("B-1", "energy_import_kwh"): 1.0,
}


@pytest.fixture
def district(small_district: DatabaseSettings) -> DatabaseSettings:
    provision(small_district)
    return small_district


def _read(db: DatabaseSettings, window: Window) -> dict[str, EnterpriseIntensity]:
    engine = make_engine(db)
    with engine.connect() as conn:
        found = intensities(conn, default_factors(), default_quotas(), window, SHANGHAI, now=NOW)
    engine.dispose()
    return {e.code: e for e in found}


def test_unit_product_energy_is_the_attributed_meters_kgce_over_the_output(
    district: DatabaseSettings,
) -> None:
    feed_month(district, NOV, STEPS)
    enter(district, ENT_A, NOV, 100.0, product="hot-metal")
    enter(district, ENT_B, NOV, 10.0, product="cold")
    found = _read(district, Window(2026, 11))
    hot_metal = found[ENT_A].products[0]
    # 2880 x 80 kWh x 0.1229 + 2880 x 0.5 m3 x 1.2143 = 28 316.16 + 1 748.592 kgce, over 100 t
    assert hot_metal.current.energy.kgce == pytest.approx(30_064.752)
    assert hot_metal.current.value == pytest.approx(300.64752)
    assert hot_metal.current.unit == "kgce/t"
    carriers = {c.carrier: c for c in hot_metal.current.energy.carriers}
    assert carriers["electricity"].amount == pytest.approx(230_400.0)
    assert carriers["electricity"].method == "equivalent"
    assert "GB/T 2589-2020" in carriers["natural_gas"].source
    assert hot_metal.current.completeness.share == 1.0
    assert hot_metal.current.production[0].entered_by == "clerk@example.org"
    assert {p.meter for p in hot_metal.attribution} == {"M-100", "G-1"}
    # GB 21256-2025 4.3 Table 3: 300.6 kgce/t is at or below the 先进值 361
    assert hot_metal.quota_entry is not None
    assert hot_metal.quota.verdict == "leader"
    assert "GB 21256-2025 4.3, Table 3, grade 1" in hot_metal.quota.text
    # a quarter of B-1: 2880 x 1 kWh x 0.25 x 0.1229 = 88.488 kgce over 10 t
    cold = found[ENT_B].products[0]
    assert cold.current.value == pytest.approx(8.8488)
    assert cold.quota.verdict == "no_quota"
    # last year has no data: no comparison, said in words
    assert hot_metal.yoy.change is None
    assert hot_metal.yoy.text.startswith("no comparison: 2025-11 insufficient data")


def test_value_added_intensity_and_its_year_on_year_change(district: DatabaseSettings) -> None:
    feed_month(district, NOV, STEPS)
    feed_month(district, NOV_LAST, {k: v * 1.25 for k, v in STEPS.items()})
    enter(district, ENT_A, NOV, 50.0)
    enter(district, ENT_A, NOV_LAST, 50.0)
    a = _read(district, Window(2026, 11))[ENT_A]
    # M-100, G-1 and DC-IN-1 (facility total counts; the IT meter is inside it)
    kgce = BUCKETS * (80 * 0.1229 + 0.5 * 1.2143 + 2 * 0.1229)
    assert a.current.energy.kgce == pytest.approx(kgce)
    assert a.current.value == pytest.approx(kgce / 1000 / 50)
    assert a.current.unit == "tce/10^4 CNY"
    assert a.previous.value == pytest.approx(kgce * 1.25 / 1000 / 50)
    assert a.yoy.change == pytest.approx(-0.2)
    assert a.yoy.text.startswith("down 20.0 % on 2025-11")


def test_gaps_below_the_threshold_and_a_month_without_output_are_insufficient_data(
    district: DatabaseSettings,
) -> None:
    # 15 % of November's buckets have no readings: the gap is spread, estimated, not measured
    feed_month(district, NOV, STEPS, skip=range(100, 100 + 432))
    enter(district, ENT_B, NOV, 10.0, product="cold")
    found = _read(district, Window(2026, 11))
    hot_metal = found[ENT_A].products[0]
    assert hot_metal.current.value is None
    assert hot_metal.current.reason.startswith("completeness 85.0 % < 90.0 %")
    assert "no output entered for 2026-11" in hot_metal.current.reason
    assert hot_metal.quota.verdict == "insufficient_data"
    quarter = _read(district, Window(2026, 11, IntensityPeriod.QUARTER))[ENT_B].products[0]
    assert quarter.current.value is None
    assert "no output entered for 2026-10, 2026-12" in quarter.current.reason


def test_coke_oven_gas_converts_by_the_enterprises_measured_heating_value(
    small_district: DatabaseSettings,
) -> None:
    text = (
        district_text()
        .replace(
            "    grid_region: north\n",
            "    grid_region: north\n"
            "    heating_values:\n"
            "      - {carrier: coke_oven_gas, unit: m3, kj_per_unit: 17584.2,\n"
            "         valid_from: 2026-01-01, source: works laboratory}\n",
        )
        .replace(
            "            points: [gas_volume_m3]\n",
            "            points: [gas_volume_m3]\n"
            "          - {code: COG-1, carrier: coke_oven_gas, protocol: mqtt,\n"
            "             points: [gas_volume_m3]}\n",
            1,
        )
    )
    engine = make_engine(small_district)
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
    engine.dispose()
    feed_month(small_district, NOV, {**STEPS, ("COG-1", "gas_volume_m3"): 10.0})
    enter(small_district, ENT_A, NOV, 100.0, product="hot-metal")
    hot_metal = _read(small_district, Window(2026, 11))[ENT_A].products[0]
    cog = {c.carrier: c for c in hot_metal.current.energy.carriers}["coke_oven_gas"]
    # 2880 x 10 m3 x 17 584.2 / 29 307 = 28 800 x 0.6 kgce
    assert cog.kgce == pytest.approx(17_280.0)
    assert cog.source.startswith("measured low calorific value 17584.2 kJ/m3")
    assert hot_metal.current.value == pytest.approx((30_064.752 + 17_280.0) / 100)

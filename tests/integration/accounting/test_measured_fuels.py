"""A works' coke-oven gas converts to standard coal by its measured heating value in the monthly
report, the energy totals and the budgets; a fuel without a CO2 factor shows its standard coal
and no CO2, and the other lines of the report stand."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.core.store.consumption import totals
from services.core.store.reports import Month, enterprise_reports
from services.core.store.scope import Scope
from tests.support.feed import point_id

ZONE = ZoneInfo("Asia/Shanghai")
WORKS = "91120111MA05K8XX3E"
DISTRICT = f"""validate_check_digits: false
enterprises:
  - code: {WORKS}
    name: Coking works
    industry: C25
    town: T
    heating_values:
      - {{carrier: coke_oven_gas, unit: m3, kj_per_unit: 17500, valid_from: 2026-01-01,
         source: works laboratory}}
    sites:
      - code: works
        meters:
          - {{code: COG, carrier: coke_oven_gas, points: [gas_volume_m3]}}
          - {{code: E, carrier: electricity, points: [energy_import_kwh]}}
"""


def _feed(db: DatabaseSettings, meter: str, quantity: str, step: float) -> None:
    """A day of quarter-hourly readings on 2026-11-10 rising by ``step`` each: 96 x step."""
    pid = point_id(db, meter, quantity)
    first = datetime(2026, 11, 10, tzinfo=ZONE)
    rows = [(pid, first + timedelta(minutes=15 * i), step * i, first, 1) for i in range(97)]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


def test_coke_oven_gas_converts_by_the_works_measured_heating_value(
    db_settings: DatabaseSettings,
) -> None:
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(DISTRICT))
    _feed(db_settings, "COG", "gas_volume_m3", 1000.0)  # 96 000 m3
    _feed(db_settings, "E", "energy_import_kwh", 500.0)  # 48 000 kWh
    catch_up(engine)
    with engine.connect() as conn:
        (report,) = enterprise_reports(
            conn,
            default_factors(),
            Month(2026, 11),
            ZONE,
            now=datetime(2026, 12, 1, tzinfo=ZONE),
        )
        energy = totals(
            conn,
            default_factors(),
            start=datetime(2026, 11, 1, tzinfo=ZONE),
            end=datetime(2026, 12, 1, tzinfo=ZONE),
            zone=ZONE,
            scope=Scope(enterprise=WORKS),
        )
    engine.dispose()
    lines = {c.carrier: c for c in report.carriers}
    # 96 000 m3 x 17 500 kJ/m3 / 29 307 kJ/kgce = 57 324.2 kgce
    assert lines["coke_oven_gas"].tce == pytest.approx(57.3242, abs=1e-4)
    assert "measured low calorific value 17500 kJ/m3" in str(lines["coke_oven_gas"].coal_source)
    assert lines["coke_oven_gas"].tco2 is None
    assert lines["electricity"].tce == pytest.approx(48_000 * 0.1229 / 1000)
    assert lines["electricity"].tco2 is not None
    gas = next(t for t in energy if t.carrier == "coke_oven_gas")
    assert gas.kgce is not None
    assert gas.kgce.value == pytest.approx(57_324.2, abs=0.1)
    assert gas.tco2 is None


def test_the_district_total_converts_each_works_gas_by_its_own_heating_value(
    db_settings: DatabaseSettings,
) -> None:
    other = "91120111MA06L2QW8F"
    second = (
        DISTRICT.replace(WORKS, other)
        .replace("17500", "16000")
        .replace("code: COG", "code: COG2")
        .replace("code: E,", "code: E2,")
        .split("enterprises:\n")[1]
    )
    engine = make_engine(db_settings)
    with engine.begin() as conn:
        apply_district(conn, parse_district(DISTRICT + second))
        measuring = conn.exec_driver_sql(
            "SELECT count(*) FROM enterprises WHERE heating_values IS NOT NULL"
        ).scalar()
    assert measuring == 2
    for code in ("COG", "COG2"):
        _feed(db_settings, code, "gas_volume_m3", 1000)
    _feed(db_settings, "E", "energy_import_kwh", 1000)
    catch_up(engine)
    with engine.connect() as conn:
        energy = totals(
            conn,
            default_factors(),
            start=datetime(2026, 11, 1, tzinfo=ZONE),
            end=datetime(2026, 12, 1, tzinfo=ZONE),
            zone=ZONE,
            scope=Scope(),
        )
    engine.dispose()
    gas = next(t for t in energy if t.carrier == "coke_oven_gas")
    # two works' 96 000 m3 each: the first at 17 500 kJ/m3, the second at 16 000
    assert gas.amount == pytest.approx(192_000)
    assert gas.kgce is not None
    assert gas.kgce.value == pytest.approx(96_000 * (17_500 + 16_000) / 29_307, abs=0.1)

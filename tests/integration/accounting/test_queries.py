"""Numbers users rely on, from readings through the rollups: PUE with coverage, consumption by
local day counting only boundary meters, tce and CO2 with the factors named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.core.accounting.queries import consumption, site_pue, totals
from services.core.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.domain.coefficients import default_factors
from services.core.domain.pue import PueStatus
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.integration.conftest import ENT_A

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 17, tzinfo=SHANGHAI)


def _feed(
    db: DatabaseSettings, meter: str, quantity: str, per_15m: float, skip_every: int = 0
) -> None:
    with psycopg.connect(db.libpq_url) as conn:
        pid = conn.execute(
            "SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id "
            "WHERE m.code = %s AND p.quantity = %s",
            (meter, quantity),
        ).fetchone()[0]  # type: ignore[index]
    rows = [
        (pid, DAY + timedelta(minutes=15 * i), 1000 + per_15m * i, DAY, 1)
        for i in range(97)
        if not (skip_every and i % skip_every == 1)
    ]
    writer = ReadingWriter(db)
    writer.write(Batch(rows=rows))
    writer.close()


def test_a_data_centre_at_1300_over_1000_kwh_has_pue_1_30(small_district: DatabaseSettings) -> None:
    _feed(small_district, "DC-IN-1", "energy_import_kwh", 13.0)
    _feed(small_district, "DC-IT-1", "energy_import_kwh", 10.0)
    engine = make_engine(small_district)
    catch_up(engine)
    with engine.connect() as conn:
        result = site_pue(
            conn, enterprise=ENT_A, site="dc-1", start=DAY, end=DAY + timedelta(days=1)
        )
    assert result.status == PueStatus.OK
    assert result.ratio == pytest.approx(1.30)
    assert (result.facility_kwh, result.it_kwh) == (pytest.approx(1248.0), pytest.approx(960.0))
    assert result.facility_coverage == pytest.approx(1.0)
    engine.dispose()


def test_half_the_readings_is_insufficient_data_not_a_pue(small_district: DatabaseSettings) -> None:
    _feed(small_district, "DC-IN-1", "energy_import_kwh", 13.0, skip_every=2)
    _feed(small_district, "DC-IT-1", "energy_import_kwh", 10.0)
    engine = make_engine(small_district)
    catch_up(engine)
    with engine.connect() as conn:
        result = site_pue(
            conn, enterprise=ENT_A, site="dc-1", start=DAY, end=DAY + timedelta(days=1)
        )
    assert result.status == PueStatus.INSUFFICIENT_DATA
    assert result.ratio is None
    assert result.facility_coverage == pytest.approx(0.5, abs=0.01)
    engine.dispose()


def test_daily_consumption_counts_boundary_meters_only_and_converts_to_tce(
    small_district: DatabaseSettings,
) -> None:
    _feed(small_district, "M-100", "energy_import_kwh", 1.0)  # x80 CT ratio: 80 kWh / 15 min
    _feed(small_district, "DC-IN-1", "energy_import_kwh", 13.0)
    _feed(small_district, "DC-IT-1", "energy_import_kwh", 10.0)  # a sub-meter: never added
    _feed(small_district, "G-1", "gas_volume_m3", 5.0)
    engine = make_engine(small_district)
    catch_up(engine)
    with engine.connect() as conn:
        days = consumption(
            conn,
            enterprise=ENT_A,
            start=DAY,
            end=DAY + timedelta(days=1),
            interval="1d",
            zone=SHANGHAI,
        )
        result = totals(
            conn,
            default_factors(),
            enterprise=ENT_A,
            start=DAY,
            end=DAY + timedelta(days=1),
            zone=SHANGHAI,
        )
    assert [(d.period, d.carrier, d.amount) for d in days] == [
        (DAY, "electricity", pytest.approx(96 * 80 + 96 * 13)),
        (DAY, "natural_gas", pytest.approx(96 * 5)),
    ]
    assert all(d.completeness == pytest.approx(1.0) for d in days)
    electricity = next(t for t in result if t.carrier == "electricity")
    assert electricity.kgce is not None
    assert electricity.kgce.value == pytest.approx((96 * 80 + 96 * 13) * 0.1229)
    assert electricity.tco2 is not None
    assert electricity.tco2.value == pytest.approx((96 * 93) / 1000 * 0.6361)  # north, 2023+
    gas = next(t for t in result if t.carrier == "natural_gas")
    assert gas.kgce is not None
    assert gas.kgce.value == pytest.approx(480 * 1.2143)
    assert datetime.now(UTC) > DAY

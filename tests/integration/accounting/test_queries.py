"""Numbers users rely on, from readings through the rollups: PUE with coverage, consumption by
local day counting only boundary meters, tce and CO2 with the factors named."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest

from services.accounting.rollup import catch_up
from services.api.models import ConsumptionOut
from services.core.db import make_engine
from services.core.domain.pue import PueStatus
from services.core.factors import default_factors
from services.core.pipeline.model import Batch
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from services.core.store.consumption import (
    consumption,
    consumption_json,
    totals,
    totals_by_period,
)
from services.core.store.pue import site_pue
from services.core.store.scope import Scope
from tests.integration.conftest import ENT_A
from tests.support.feed import feed_counter

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
            scope=Scope(enterprise=ENT_A),
            start=DAY,
            end=DAY + timedelta(days=1),
            interval="1d",
            zone=SHANGHAI,
        )
        result = totals(
            conn,
            default_factors(),
            scope=Scope(enterprise=ENT_A),
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


def test_monthly_totals_split_at_local_month_boundaries_in_one_statement(
    small_district: DatabaseSettings,
) -> None:
    """M-100 (x80 CT) draws 80 kWh a quarter hour from 22:00 on 31 October to 02:00 on
    1 November, Shanghai time: the UTC date is 31 October throughout, yet four hours fall in each
    local month. Each month's totals equal totals() over that month alone."""
    feed_counter(small_district, "M-100", datetime(2026, 10, 31, 22, tzinfo=SHANGHAI), 17, 500, 1)
    engine = make_engine(small_district)
    october, november, december = (datetime(2026, m, 1, tzinfo=SHANGHAI) for m in (10, 11, 12))
    factors = default_factors()
    with engine.connect() as conn:
        months = totals_by_period(
            conn,
            factors,
            start=october,
            end=december,
            zone=SHANGHAI,
            interval="1mo",
            scope=Scope(enterprise=ENT_A),
        )
        alone = [
            totals(conn, factors, scope=Scope(enterprise=ENT_A), start=a, end=b, zone=SHANGHAI)
            for a, b in ((october, november), (november, december))
        ]
        whole = totals_by_period(
            conn,
            factors,
            start=october,
            end=december,
            zone=SHANGHAI,
            interval=None,
            scope=Scope(enterprise=ENT_A),
        )
    engine.dispose()
    assert [(m.start, m.end) for m in months] == [(october, november), (november, december)]
    assert [m.carriers for m in months] == alone
    amounts = [m.carriers[0].amount for m in months]
    assert amounts == [pytest.approx(8 * 80), pytest.approx(8 * 80)]
    assert [m.carriers[0].kgce.value for m in months] == [  # type: ignore[union-attr]
        pytest.approx(640 * 0.1229),
        pytest.approx(640 * 0.1229),
    ]
    assert [(w.start, w.end) for w in whole] == [(october, december)]
    assert whole[0].carriers[0].amount == pytest.approx(1280)


@pytest.mark.parametrize(
    ("zone", "interval"),
    [
        (SHANGHAI, "1d"),
        (SHANGHAI, "15m"),
        (ZoneInfo("America/New_York"), "1h"),  # 1 November 2026: -04:00, then -05:00
        (ZoneInfo("America/New_York"), "1d"),
        (ZoneInfo("Asia/Kolkata"), "1mo"),  # +05:30
    ],
)
def test_consumption_as_json_is_the_consumption_rows(
    small_district: DatabaseSettings, zone: ZoneInfo, interval: str
) -> None:
    """The API's document (built by PostgreSQL) has exactly the rows of consumption(), periods
    in ISO 8601 with the zone's offset of each period, across a daylight-saving change."""
    first = datetime(2026, 10, 31, 17, tzinfo=UTC)  # 22:30 in Kolkata, 13:00 in New York
    feed_counter(small_district, "M-100", first, 200, 100, 0.3)
    engine = make_engine(small_district)
    window = {"start": first - timedelta(days=3), "end": first + timedelta(days=4)}
    with engine.connect() as conn:
        plain = consumption(
            conn,
            scope=Scope(enterprise=ENT_A),
            interval=interval,
            zone=zone,
            **window,  # type: ignore[arg-type]
        )
        doc = consumption_json(
            conn, interval=interval, zone=zone, scope=Scope(enterprise=ENT_A), **window
        )
    engine.dispose()
    # the API's sessions run in the calendar zone, and PostgreSQL prints the periods itself
    local = make_engine(small_district, session_zone=zone.key)
    with local.connect() as conn:
        fast = consumption_json(
            conn, interval=interval, zone=zone, scope=Scope(enterprise=ENT_A), **window
        )
    local.dispose()
    assert fast == doc
    expected = [
        {
            "period": r.period.isoformat(),
            "carrier": r.carrier,
            "quantity": r.quantity,
            "unit": r.unit,
            "amount": r.amount,
            "completeness": r.completeness,
            "estimated": r.estimated,
        }
        for r in plain
    ]
    assert len(expected) > 1
    assert json.loads(doc) == expected
    assert list(json.loads(doc)[0]) == list(ConsumptionOut.model_fields)  # the API's model

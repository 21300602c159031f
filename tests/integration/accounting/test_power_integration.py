"""A meter without an energy counter: its energy point is integrated from its power samples,
kept current by the same rollups (late samples included), counted in consumption like any
counter, and it takes no readings of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pytest
import yaml

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.pipeline.index import load_index
from services.core.pipeline.model import Batch, InboundMessage
from services.core.pipeline.validate import Limits, validate_message
from services.core.pipeline.writer import ReadingWriter
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.core.store.consumption import consumption
from services.core.store.scope import Scope
from tests.integration.conftest import ENT_B, FIXTURES

T0 = datetime(2026, 11, 16, 16, 0, tzinfo=UTC)  # 00:00 on the 17th in Shanghai
MINUTE = timedelta(minutes=1)
SHANGHAI_DAY = (T0, T0 + timedelta(days=1))


@pytest.fixture
def power_meter(small_district: DatabaseSettings) -> tuple[DatabaseSettings, int, int]:
    """Enterprise B's store gets B-P: one-minute power samples, energy integrated from them."""
    doc = yaml.safe_load((FIXTURES / "district_small.yaml").read_text())
    store = next(e for e in doc["enterprises"] if e["code"] == ENT_B)["sites"][0]
    store["meters"].append(
        {
            "code": "B-P",
            "carrier": "electricity",
            "protocol": "mqtt",
            "interval_s": 60,
            "multiplier": 2,
            "points": ["power_kw", {"quantity": "energy_import_kwh", "from_power": True}],
        }
    )
    engine = make_engine(small_district)
    with engine.begin() as conn:
        apply_district(conn, parse_district(yaml.safe_dump(doc)))
    engine.dispose()
    with psycopg.connect(small_district.libpq_url) as conn:
        ids = dict(
            conn.execute(
                "SELECT p.quantity, p.id FROM points p JOIN meters m ON m.id = p.meter_id "
                "WHERE m.code = 'B-P'"
            ).fetchall()
        )
        source = conn.execute(
            "SELECT source_point_id FROM points WHERE id = %s", (ids["energy_import_kwh"],)
        ).fetchone()
    assert source == (ids["power_kw"],)
    return small_district, ids["power_kw"], ids["energy_import_kwh"]


def _write(db: DatabaseSettings, pid: int, samples: list[tuple[datetime, float]]) -> None:
    writer = ReadingWriter(db)
    writer.write(Batch(rows=[(pid, ts, kw, ts, 1) for ts, kw in samples]))
    writer.close()
    engine = make_engine(db)
    catch_up(engine)
    engine.dispose()


def _buckets(db: DatabaseSettings, pid: int) -> list[tuple[datetime, float, int, bool]]:
    with psycopg.connect(db.libpq_url) as conn:
        return [
            (b, round(e, 6), n, est)
            for b, e, n, est in conn.execute(
                "SELECT bucket, energy, readings, estimated FROM consumption_15m "
                "WHERE point_id = %s ORDER BY bucket",
                (pid,),
            ).fetchall()
        ]


def test_energy_is_integrated_from_power_late_samples_included(
    power_meter: tuple[DatabaseSettings, int, int],
) -> None:
    db, power, energy = power_meter
    # 30 kW for an hour (x2 on the primary side: 60 kWh), samples every minute; 20 minutes of
    # them (00:20-00:39) arrive a day late
    samples = [(T0 + i * MINUTE, 30.0) for i in range(61)]
    missing = samples[20:40]
    _write(db, power, samples[:20] + samples[40:])
    early = _buckets(db, energy)
    assert [round(e, 6) for _, e, _, _ in early[:4]] == [15.0] * 4  # bridged: 21 min gap
    assert [est for *_, est in early[:4]] == [False, True, True, False]
    _write(db, power, missing)
    late = _buckets(db, energy)
    assert [(b, e, n, est) for b, e, n, est in late[:4]] == [
        (T0 + q * 15 * MINUTE, 15.0, 15, False) for q in range(4)
    ]
    assert _buckets(db, power) == []  # power itself has no consumption rows
    engine = make_engine(db)
    with engine.connect() as conn:
        [row] = consumption(
            conn,
            start=SHANGHAI_DAY[0],
            end=SHANGHAI_DAY[1],
            interval="1d",
            zone=ZoneInfo("Asia/Shanghai"),
            scope=Scope(enterprise=ENT_B, meter="B-P"),
        )
    engine.dispose()
    assert (row.carrier, row.amount) == ("electricity", pytest.approx(60.0))


def test_the_integrated_point_takes_no_readings(
    power_meter: tuple[DatabaseSettings, int, int],
) -> None:
    db, _, _ = power_meter
    engine = make_engine(db)
    with engine.connect() as conn:
        index = load_index(conn)
    engine.dispose()
    batch = Batch()
    payload = {
        "readings": [
            {"meter": "B-P", "point": "power_kw", "ts": T0.isoformat(), "value": 30},
            {"meter": "B-P", "point": "energy_import_kwh", "ts": T0.isoformat(), "value": 1},
        ]
    }
    msg = InboundMessage("mqtt", "t", ENT_B, "gw-01", orjson.dumps(payload), T0)
    validate_message(msg, index, Limits(), batch)
    assert len(batch.rows) == 1
    [dead] = batch.dead_letters
    assert dead.reason == "unknown_point"

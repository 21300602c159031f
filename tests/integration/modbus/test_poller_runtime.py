"""The poller against a real pymodbus server: on time, faults isolated, recovery automatic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.ingest.modbus.connection import LineSettings, Transport
from services.ingest.modbus.poller import DeviceSpec, PollPolicy, ReadBlock
from tests.support.modbus import device, modbus_server
from tests.support.poller import running_poller
from tests.support.services import free_port, wait_for

ENT = "91120111MA07N9RT25"


def _district(port: int, down_port: int) -> str:
    meters = "\n".join(
        f"          - {{code: MB-{u}, carrier: electricity, protocol: modbus, interval_s: 1, "
        f"connection: {{host: 127.0.0.1, port: {p}, unit_id: {u}}}, "
        f"points: [energy_import_kwh, power_kw]}}"
        for u, p in ((1, port), (2, port), (3, down_port))
    )
    return (
        f"enterprises:\n  - code: {ENT}\n    name: Dasi Textiles\n    industry: C17\n"
        f"    town: Dasi\n    sites:\n      - code: mill\n        meters:\n{meters}\n"
    )


def _decode(regs: Sequence[list[int]]) -> list[tuple[str, float, str]]:
    block = regs[0]
    return [
        ("energy_import_kwh", (block[0] << 16 | block[1]) / 10, "kWh"),
        ("power_kw", block[2] / 100, "kW"),
    ]


def _factory(meter_id: int, ent: str, code: str, conn: dict[str, Any], **_: object) -> DeviceSpec:
    return DeviceSpec(
        meter_id,
        ent,
        code,
        int(conn["unit_id"]),
        LineSettings(Transport.TCP, port=int(conn["port"]), timeout_s=0.3),
        1.0,
        (ReadBlock("holding", 0, 3),),
        _decode,
    )


def _stored(db: DatabaseSettings) -> dict[str, list[float]]:
    with psycopg.connect(db.libpq_url) as conn:
        rows = conn.execute(
            "SELECT m.code, r.value FROM readings r JOIN points p ON "
            "p.id = r.point_id JOIN meters m ON m.id = p.meter_id "
            "WHERE p.quantity = 'energy_import_kwh' ORDER BY r.ts"
        ).fetchall()
    out: dict[str, list[float]] = {}
    for code, value in rows:
        out.setdefault(code, []).append(value)
    return out


def _status(db: DatabaseSettings) -> dict[str, str]:
    with psycopg.connect(db.libpq_url) as conn:
        return dict(
            conn.execute(
                "SELECT m.code, s.state FROM device_status s JOIN meters m ON m.id = s.meter_id"
            ).fetchall()
        )


def test_a_faulty_device_costs_only_itself_and_recovers_without_restart(
    db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    healthy = {1: device([0, 12345, 500]), 2: device([1, 0, 250])}
    down_port = free_port()  # MB-3 sits behind a gateway that is down at first
    with modbus_server(healthy) as (port, _context):
        engine = make_engine(db_settings)
        with engine.begin() as conn:
            apply_district(conn, parse_district(_district(port, down_port)))
        engine.dispose()
        registry = CollectorRegistry()
        policy = PollPolicy(retries=1, offline_after=3, max_backoff_s=2)
        with running_poller(
            db_settings, tmp_path, factory=_factory, metrics=registry, policy=policy
        ):
            wait_for(
                lambda: _status(db_settings).get("MB-3") == "offline",
                15,
                "the missing device to go offline",
            )
            wait_for(
                lambda: (
                    min(len(v) for v in _stored(db_settings).values()) >= 3
                    and len(_stored(db_settings)) == 2
                ),
                15,
                "three polls of each healthy device",
            )
            stored = _stored(db_settings)
            assert set(stored) == {"MB-1", "MB-2"}  # nothing fake for the faulty one
            assert set(stored["MB-1"]) == {1234.5}
            assert set(stored["MB-2"]) == {6553.6}
            lag = registry.get_sample_value(
                "energymon_ingest_modbus_schedule_lag_seconds_bucket", {"le": "0.2"}
            )
            count = registry.get_sample_value("energymon_ingest_modbus_schedule_lag_seconds_count")
            assert count is not None
            assert lag is not None
            assert lag / count >= 0.95
            with modbus_server({3: device([0, 42, 1])}, port=down_port):  # it comes back
                wait_for(
                    lambda: "MB-3" in _stored(db_settings), 15, "readings of the recovered one"
                )
                wait_for(lambda: _status(db_settings).get("MB-3") == "online", 10, "status online")
            assert set(_stored(db_settings)["MB-3"]) == {4.2}

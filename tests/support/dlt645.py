"""DL/T 645 test helpers: simulated meters of the common set, reading every item of them through a
line, and provisioning them in the registry behind one line."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import yaml

from services.core.db import make_engine
from services.core.devices.dlt645.loader import shipped_maps
from services.core.devices.dlt645.values import decode_time, decode_value, decode_values
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings
from services.ingest.dlt645.line import Dlt645Line
from simulators.meters.dlt645_meter import Dlt645Meter, addresses

COMMON = shipped_maps()["dlt645-2007-common"]
ENT = "91120111MA07N9RT25"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def common_meters(count: int) -> list[Dlt645Meter]:
    """Meters 000000000001.. of the common set, 20 kW mean load, seeded by position."""
    return [Dlt645Meter(a, COMMON, 20.0, seed=i) for i, a in enumerate(addresses(count))]


def code(meter: Dlt645Meter) -> str:
    return f"DL-{meter.address[-3:]}"


async def read_every_item(
    line: Dlt645Line, meters: list[Dlt645Meter]
) -> dict[tuple[str, int], bytes]:
    """Every item of the common set from every meter, one exchange each; the line is closed."""
    try:
        return {
            (m.address, item.di): await line.read(m.address, item.di)
            for m in meters
            for item in COMMON.items
        }
    finally:
        line.close()


def mismatches(answers: dict[tuple[str, int], bytes], meters: list[Dlt645Meter]) -> list[str]:
    """The items whose answer does not decode to the meter's own value (empty when all do)."""
    wrong = []
    for meter in meters:
        for item in COMMON.items:
            payload = answers[(meter.address, item.di)]
            if item.format is None:
                ok = decode_time(payload, SHANGHAI) == meter.frozen_at
            elif item.block:
                ok = decode_values(payload, item.format) == meter.values(item)
            else:
                ok = [decode_value(payload, item.format)] == meter.values(item)
            if not ok:
                wrong.append(f"{meter.address} {item.name}")
    return wrong


def provision(db: DatabaseSettings, meters: list[Dlt645Meter], line: dict[str, Any]) -> None:
    """Register ``meters`` behind one line (the connection's transport settings), polled every
    second with every point of the common set."""
    entries = [
        {
            "code": code(m),
            "carrier": "electricity",
            "protocol": "dlt645",
            "interval_s": 1,
            "connection": {**line, "address": m.address, "interval_s": 1},
            "points": sorted(COMMON.fed_points()),
        }
        for m in meters
    ]
    site = {"code": "mill", "meters": entries}
    doc = {
        "enterprises": [
            {
                "code": ENT,
                "name": "Dasi Textiles",
                "industry": "C17",
                "town": "Dasi",
                "sites": [site],
            }
        ]
    }
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(yaml.safe_dump(doc)))
    engine.dispose()

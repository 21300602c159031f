"""The small district with two sub-meters under M-100 (the meter balance), and a day of counter
readings fed to any of its meters."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from services.core.db import make_engine
from services.core.registry.spec import parse_district
from services.core.registry.store import apply_district
from services.core.settings import DatabaseSettings

SMALL = Path(__file__).parents[1] / "fixtures" / "district_small.yaml"
SUB_METERS = (
    "          - {code: F-1, carrier: electricity, role: sub, sub_of: M-100, "
    "points: [energy_import_kwh]}\n"
    "          - {code: F-2, carrier: electricity, role: sub, sub_of: M-100, "
    "points: [energy_import_kwh]}\n"
)


def add_sub_meters(db: DatabaseSettings) -> None:
    """Re-apply the small district with F-1 and F-2 declared sub-meters of M-100 (plant-1)."""
    text = SMALL.read_text().replace("      - code: dc-1\n", SUB_METERS + "      - code: dc-1\n")
    engine = make_engine(db)
    with engine.begin() as conn:
        apply_district(conn, parse_district(text))
    engine.dispose()


def local_day(text: str, zone_name: str = "Asia/Shanghai") -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone_name))

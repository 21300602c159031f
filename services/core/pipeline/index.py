"""An in-memory snapshot of the registry that validation looks readings up in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from services.core.domain.quantities import QUANTITIES
from services.core.schema.tables import enterprises, gateways, meters, points


@dataclass(frozen=True, slots=True)
class PointEntry:
    point_id: int
    unit: str
    min_value: float
    max_value: float


@dataclass(frozen=True, slots=True)
class MeterEntry:
    meter_id: int
    gateway_code: str | None
    points: dict[str, PointEntry]


@dataclass(frozen=True, slots=True)
class RegistryIndex:
    """Active enterprises, gateways, meters and points, keyed by their codes."""

    meters: dict[tuple[str, str], MeterEntry] = field(default_factory=dict)
    gateways: dict[tuple[str, str], int] = field(default_factory=dict)
    enterprises: frozenset[str] = frozenset()
    meter_owners: dict[str, frozenset[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.meters)


def load_index(conn: Connection) -> RegistryIndex:
    """Read the active registry in three queries."""
    ents = {
        row.id: row.code
        for row in conn.execute(
            select(enterprises.c.id, enterprises.c.code).where(enterprises.c.active)
        )
    }
    gws: dict[int, tuple[str, str]] = {}
    for row in conn.execute(
        select(gateways.c.id, gateways.c.enterprise_id, gateways.c.code).where(gateways.c.active)
    ):
        if row.enterprise_id in ents:
            gws[row.id] = (ents[row.enterprise_id], row.code)
    meter_rows: Any = conn.execute(
        select(
            meters.c.id,
            meters.c.enterprise_id,
            meters.c.code,
            meters.c.gateway_id,
            points.c.id.label("point_id"),
            points.c.quantity,
            points.c.unit,
            points.c.min_value,
            points.c.max_value,
        )
        .join(points, points.c.meter_id == meters.c.id)
        # an energy point integrated from power takes no readings: one sent is an unknown point
        .where(meters.c.active, points.c.active, points.c.source_point_id.is_(None))
    )
    by_meter: dict[tuple[str, str], tuple[int, str | None, dict[str, PointEntry]]] = {}
    owners: dict[str, set[str]] = {}
    for row in meter_rows:
        ent = ents.get(row.enterprise_id)
        if ent is None:
            continue
        key = (ent, row.code)
        gw = gws.get(row.gateway_id) if row.gateway_id is not None else None
        entry = by_meter.setdefault(key, (row.id, gw[1] if gw else None, {}))
        q = QUANTITIES[row.quantity]
        entry[2][row.quantity] = PointEntry(
            point_id=row.point_id,
            unit=row.unit,
            min_value=q.min_value if row.min_value is None else row.min_value,
            max_value=q.max_value if row.max_value is None else row.max_value,
        )
        owners.setdefault(row.code, set()).add(ent)
    return RegistryIndex(
        meters={k: MeterEntry(mid, gw, pts) for k, (mid, gw, pts) in by_meter.items()},
        gateways={codes: gid for gid, codes in gws.items()},
        enterprises=frozenset(ents.values()),
        meter_owners={code: frozenset(e) for code, e in owners.items()},
    )

"""Registering a meter replacement: the swap's time, the old register's final value and the new
register's first, per counter point. The rollups bridge the swap (consumption = old final -
earlier + later - new first) instead of guessing a reset, and the buckets around it are
recomputed at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert

from services.core.errors import EnergymonError
from services.core.schema.tables import (
    enterprises,
    meter_replacements,
    meters,
    points,
    rollup_dirty,
)


class ReplacementError(EnergymonError):
    pass


def register_replacement(
    conn: Connection,
    *,
    enterprise: str,
    meter: str,
    point: str,
    at: datetime,
    old_final: float,
    new_first: float,
    serial: str | None = None,
    note: str | None = None,
) -> int:
    point_id = conn.execute(
        select(points.c.id)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
        .where(
            enterprises.c.code == enterprise,
            meters.c.code == meter,
            points.c.quantity == point,
            points.c.kind == "cumulative",
            points.c.source_point_id.is_(None),
        )
    ).scalar()
    if point_id is None:
        raise ReplacementError(f"no counter point {point} on meter {meter} of {enterprise}")
    swap = upsert(meter_replacements).values(
        point_id=point_id, ts=at, old_final=old_final, new_first=new_first, note=note
    )
    rid = conn.execute(
        swap.on_conflict_do_update(  # registered again: the latest values win
            index_elements=["point_id", "ts"],
            set_={
                "old_final": swap.excluded.old_final,
                "new_first": swap.excluded.new_first,
                "note": swap.excluded.note,
            },
        ).returning(meter_replacements.c.id)
    ).scalar_one()
    if serial:
        conn.execute(
            update(meters)
            .where(
                meters.c.enterprise_id == enterprises.c.id,
                enterprises.c.code == enterprise,
                meters.c.code == meter,
            )
            .values(serial=serial)
        )
    # the buckets on either side of the swap change: let the rollup job recompute them
    conn.execute(
        insert(rollup_dirty).values(
            point_id=point_id, from_ts=at - timedelta(seconds=1), to_ts=at + timedelta(seconds=1)
        )
    )
    return int(rid)

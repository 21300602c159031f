"""Registering a meter replacement: the swap's time, the old register's final value and the new
register's first, per counter point. The rollups bridge the swap (consumption = old final -
earlier + later - new first) instead of guessing a reset, and the buckets around it are
recomputed at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, text

from services.core.errors import EnergymonError


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
        text("""
        SELECT p.id FROM points p JOIN meters m ON m.id = p.meter_id
        JOIN enterprises e ON e.id = m.enterprise_id
        WHERE e.code = :e AND m.code = :m AND p.quantity = :q AND p.kind = 'cumulative'
          AND p.source_point_id IS NULL"""),
        {"e": enterprise, "m": meter, "q": point},
    ).scalar()
    if point_id is None:
        raise ReplacementError(f"no counter point {point} on meter {meter} of {enterprise}")
    rid = conn.execute(
        text("""
        INSERT INTO meter_replacements (point_id, ts, old_final, new_first, note)
        VALUES (:p, :ts, :old, :new, :note)
        ON CONFLICT (point_id, ts) DO UPDATE SET old_final = excluded.old_final,
            new_first = excluded.new_first, note = excluded.note
        RETURNING id"""),
        {"p": point_id, "ts": at, "old": old_final, "new": new_first, "note": note},
    ).scalar_one()
    if serial:
        conn.execute(
            text(
                "UPDATE meters m SET serial = :s FROM enterprises e WHERE "
                "e.id = m.enterprise_id AND e.code = :e AND m.code = :m"
            ),
            {"s": serial, "e": enterprise, "m": meter},
        )
    # the buckets on either side of the swap change: let the rollup job recompute them
    conn.execute(
        text("INSERT INTO rollup_dirty (point_id, from_ts, to_ts) VALUES (:p, :a, :b)"),
        {"p": point_id, "a": at - timedelta(seconds=1), "b": at + timedelta(seconds=1)},
    )
    return int(rid)

"""Products for production tests, registered at a chosen time (they are expected from that
month on), on top of the seeded district."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from services.core.schema.tables import enterprises, products

# (enterprise code, product code, name, unit)
Product = tuple[str, str, str, str]


def add_products(engine: Engine, items: list[Product], *, registered: datetime) -> dict[str, int]:
    """Register ``items``; their ids by product code."""
    ids = {}
    with engine.begin() as conn:
        for ent, code, name, unit in items:
            ent_id = conn.execute(
                select(enterprises.c.id).where(enterprises.c.code == ent)
            ).scalar_one()
            ids[code] = conn.execute(
                products.insert()
                .values(
                    enterprise_id=ent_id, code=code, name=name, unit=unit, created_at=registered
                )
                .returning(products.c.id)
            ).scalar_one()
    return ids

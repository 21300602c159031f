"""Sites as the indicators see them: data centres with their class and PUE limit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from services.core.domain.pue import pue_limit
from services.core.schema.tables import enterprises, sites


@dataclass(frozen=True, slots=True)
class DataCentre:
    site_id: int
    site: str
    enterprise_id: int
    enterprise: str
    dc_class: str | None
    explicit_limit: float | None

    @property
    def limit(self) -> float | None:
        """The site's explicit ``pue_limit``, else its class's limit from the plan."""
        return pue_limit(self.dc_class, self.explicit_limit)


def data_centres(conn: Connection) -> list[DataCentre]:
    """Active data-centre sites of active enterprises, by site id."""
    stmt = (
        select(
            sites.c.id,
            sites.c.code,
            sites.c.dc_class,
            sites.c.pue_limit,
            enterprises.c.id.label("enterprise_id"),
            enterprises.c.code.label("enterprise"),
        )
        .join(enterprises, enterprises.c.id == sites.c.enterprise_id)
        .where(sites.c.kind == "data_centre", sites.c.active, enterprises.c.active)
        .order_by(sites.c.id)
    )
    return [
        DataCentre(
            site_id=r.id,
            site=r.code,
            enterprise_id=r.enterprise_id,
            enterprise=r.enterprise,
            dc_class=r.dc_class,
            explicit_limit=float(r.pue_limit) if r.pue_limit is not None else None,
        )
        for r in conn.execute(stmt)
    ]

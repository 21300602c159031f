"""Sites as the indicators see them: data centres with their class and PUE limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, select

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


_COLUMNS = (
    sites.c.id,
    sites.c.code,
    sites.c.dc_class,
    sites.c.pue_limit,
    enterprises.c.id.label("enterprise_id"),
    enterprises.c.code.label("enterprise"),
)


def _data_centre(r: Row[*tuple[Any, ...]]) -> DataCentre:
    return DataCentre(
        site_id=r.id,
        site=r.code,
        enterprise_id=r.enterprise_id,
        enterprise=r.enterprise,
        dc_class=r.dc_class,
        explicit_limit=float(r.pue_limit) if r.pue_limit is not None else None,
    )


def data_centres(conn: Connection) -> list[DataCentre]:
    """Active data-centre sites of active enterprises, by site id."""
    stmt = (
        select(*_COLUMNS)
        .join(enterprises, enterprises.c.id == sites.c.enterprise_id)
        .where(sites.c.kind == "data_centre", sites.c.active, enterprises.c.active)
        .order_by(sites.c.id)
    )
    return [_data_centre(r) for r in conn.execute(stmt)]


def data_centre(conn: Connection, *, enterprise_id: int, site: str) -> DataCentre | None:
    """The enterprise's data-centre site ``site``, active or not."""
    stmt = (
        select(*_COLUMNS)
        .join(enterprises, enterprises.c.id == sites.c.enterprise_id)
        .where(
            sites.c.enterprise_id == enterprise_id,
            sites.c.code == site,
            sites.c.kind == "data_centre",
        )
    )
    row = conn.execute(stmt).first()
    return None if row is None else _data_centre(row)

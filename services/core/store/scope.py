"""Whose consumption a query reads: the district, a town, an enterprise, a site, a meter or one
point, as conditions over the registry tables."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select

from services.core.domain.roles import COUNTED_ROLES
from services.core.schema.tables import enterprises, meters, points, sites


@dataclass(frozen=True, slots=True)
class Scope:
    """The district (nothing set), a town, an enterprise, one of its sites, one meter (any role:
    a sub-meter's own use) or one point of it. Without a meter, only the roles that add up to a
    whole count (services/core/domain/roles.py)."""

    enterprise: str | None = None
    site: str | None = None
    meter: str | None = None
    quantity: str | None = None
    town: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """Conditions over ``enterprises``, ``sites``, ``meters`` and ``points``."""
        conds: list[ColumnElement[bool]] = [enterprises.c.active, meters.c.active, points.c.active]
        if self.enterprise is not None:
            conds.append(enterprises.c.code == self.enterprise)
        if self.site is not None:
            conds.append(sites.c.code == self.site)
        if self.meter is not None:
            conds.append(meters.c.code == self.meter)
        if self.quantity is not None:
            conds.append(points.c.quantity == self.quantity)
        if self.town is not None:
            conds.append(enterprises.c.town == self.town)
        if self.meter is None:
            conds.append(meters.c.role.in_(sorted(r.value for r in COUNTED_ROLES)))
        return conds


def registry_join(stmt: Select[tuple[int]]) -> Select[tuple[int]]:
    """``stmt`` (selecting from ``points``) joined to its meter, site and enterprise."""
    return (
        stmt.join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
    )


def scoped_points(scope: Scope, *extra: ColumnElement[bool]) -> Select[tuple[int]]:
    """The ids of the points ``scope`` (and ``extra``) selects, for a window source's branches."""
    stmt = registry_join(select(points.c.id).select_from(points))
    return stmt.where(*scope.conditions(), *extra).correlate(None)

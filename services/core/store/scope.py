"""Whose consumption a query reads: the district, a town, an enterprise, a site, a meter or one
point, as conditions over the registry tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY

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
        return scope_conditions(self.shape(), self.params())

    def shape(self) -> tuple[str, ...]:
        """Which of the fields are set: the shape of the statements that read this scope."""
        return tuple(name for name in _FIELDS if getattr(self, name) is not None)

    def params(self) -> dict[str, str]:
        """The set fields' values, by the names of :func:`scope_conditions`' parameters."""
        return {f"scope_{name}": getattr(self, name) for name in self.shape()}


_FIELDS = ("enterprise", "site", "meter", "quantity", "town")
_COUNTED_ROLES = sorted(r.value for r in COUNTED_ROLES)
_COLUMNS = {
    "enterprise": enterprises.c.code,
    "site": sites.c.code,
    "meter": meters.c.code,
    "quantity": points.c.quantity,
    "town": enterprises.c.town,
}


def scope_conditions(
    shape: tuple[str, ...], values: dict[str, str] | None = None
) -> list[ColumnElement[bool]]:
    """The conditions of a scope with the fields ``shape`` set, each compared with a parameter
    ``scope_<field>`` (bound to ``values`` if given, else at execution: a statement built once
    per shape serves every scope of that shape)."""
    conds: list[ColumnElement[bool]] = [enterprises.c.active, meters.c.active, points.c.active]
    for name in shape:
        key = f"scope_{name}"
        value: BindParameter[str] = (
            bindparam(key) if values is None else bindparam(key, values[key], unique=True)
        )
        conds.append(_COLUMNS[name] == value)
    if "meter" not in shape:
        # one array parameter, not IN (...): a list in IN is rendered into the text again at
        # every execution
        conds.append(meters.c.role == any_(literal(_COUNTED_ROLES, ARRAY(String))))
    return conds


def registry_join(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (selecting from ``points``) joined to its meter, site and enterprise."""
    return (
        stmt.join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(enterprises, enterprises.c.id == meters.c.enterprise_id)
    )


def source_join(stmt: Select[Any], source: Any) -> Select[Any]:
    """``stmt`` reading a window source's rows (services/core/store/rollups.py), each joined to
    its point, meter, site and enterprise."""
    return registry_join(stmt.select_from(source).join(points, points.c.id == source.c.point_id))


def scoped_points(scope: Scope, *extra: ColumnElement[bool]) -> Select[tuple[int]]:
    """The ids of the points ``scope`` (and ``extra``) selects, for a window source's branches."""
    return points_where(scope.conditions(), *extra)


def points_where(
    conditions: list[ColumnElement[bool]], *extra: ColumnElement[bool]
) -> Select[tuple[int]]:
    """The ids of the points that meet ``conditions`` (a scope's) and ``extra``."""
    stmt = registry_join(select(points.c.id).select_from(points))
    return stmt.where(*conditions, *extra).correlate(None)

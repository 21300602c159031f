"""What the intensity figures rest on, read for any number of enterprises at once: their
products, the points attributed to each product (with the share), their counted points, and
their monthly production entries. Each statement is built once, its values bound as arrays.

A product's points: for an attributed site, the cumulative energy points of the site's counted
meters (services/core/domain/roles.py ``COUNTED_ROLES``); for an attributed meter, that meter's
cumulative energy points whatever its role (a workshop feeder). An enterprise's points: the
cumulative energy points of all its counted meters. Water meters are left out of both (no energy
carrier).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Date,
    Integer,
    Select,
    String,
    bindparam,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY

from services.core.domain.intensity import ProductionFigure
from services.core.domain.quantities import COUNTED_QUANTITIES
from services.core.domain.roles import COUNTED_ROLES
from services.core.schema.tables import (
    enterprises,
    meters,
    points,
    product_attribution,
    production_entries,
    products,
    sites,
)

_COUNTED_ROLES = sorted(r.value for r in COUNTED_ROLES)
_QUANTITIES = sorted(q.value for q in COUNTED_QUANTITIES)


@dataclass(frozen=True, slots=True)
class EnterpriseRow:
    id: int
    code: str
    name: str
    town: str
    industry: str


@dataclass(frozen=True, slots=True)
class ProductRow:
    id: int
    enterprise_id: int
    code: str
    name: str
    unit: str
    quota_standard: str | None
    quota_product: str | None
    plant: str  # existing | new
    electricity_method: str  # equivalent | equal


@dataclass(frozen=True, slots=True)
class AttributedPoint:
    """A point making up a product's (or an enterprise's) energy, and the share counted."""

    point_id: int
    site: str
    meter: str
    quantity: str
    carrier: str
    unit: str
    share: float = 1.0


@lru_cache(maxsize=2)
def _enterprises(all_of_them: bool) -> Select[Any]:
    e = enterprises.c
    stmt = select(e.id, e.code, e.name, e.town, e.industry).where(e.active).order_by(e.code)
    if all_of_them:
        return stmt
    return stmt.where(e.code == func.any(bindparam("intensity_codes", type_=ARRAY(String))))


def enterprise_rows(conn: Connection, codes: Sequence[str] | None = None) -> list[EnterpriseRow]:
    """The active enterprises (of ``codes``), in code order."""
    params = {} if codes is None else {"intensity_codes": list(codes)}
    return [EnterpriseRow(*r) for r in conn.execute(_enterprises(codes is None), params).all()]


_ENTERPRISE_IDS = bindparam("intensity_enterprise_ids", type_=ARRAY(Integer))


@lru_cache(maxsize=1)
def _products() -> Select[Any]:
    p = products.c
    return (
        select(
            p.id,
            p.enterprise_id,
            p.code,
            p.name,
            p.unit,
            p.quota_standard,
            p.quota_product,
            p.plant,
            p.electricity_method,
        )
        .where(p.active, p.enterprise_id == func.any(_ENTERPRISE_IDS))
        .order_by(p.enterprise_id, p.code)
    )


def product_rows(conn: Connection, enterprise_ids: Sequence[int]) -> list[ProductRow]:
    """The active products of the enterprises, by enterprise and code."""
    rows = conn.execute(_products(), {"intensity_enterprise_ids": list(enterprise_ids)})
    return [ProductRow(*r) for r in rows]


def _energy_points(*conds: Any) -> Any:
    return (
        meters.c.active,
        points.c.active,
        points.c.quantity.in_(_QUANTITIES),
        meters.c.carrier != "water",
        *conds,
    )


_POINT_COLUMNS = (
    points.c.id.label("point_id"),
    sites.c.code.label("site"),
    meters.c.code.label("meter"),
    points.c.quantity,
    meters.c.carrier,
    points.c.unit,
)


def _attribution_branches(ids: Any, *head: Any) -> tuple[Select[Any], Select[Any]]:
    """The points of the products ``ids``: their attributed sites' counted points, and their
    attributed meters' points; each row ``head`` columns, the point's and the share."""
    a = product_attribution.c
    whole_sites = (
        select(*head, *_POINT_COLUMNS, a.share)
        .select_from(product_attribution)
        .join(meters, meters.c.site_id == a.site_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(points, points.c.meter_id == meters.c.id)
        .where(a.product_id == func.any(ids), *_energy_points(meters.c.role.in_(_COUNTED_ROLES)))
    )
    one_meters = (
        select(*head, *_POINT_COLUMNS, a.share)
        .select_from(product_attribution)
        .join(meters, meters.c.id == a.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .join(points, points.c.meter_id == meters.c.id)
        .where(a.product_id == func.any(ids), *_energy_points())
    )
    return whole_sites, one_meters


@lru_cache(maxsize=1)
def _attributed() -> Select[Any]:
    ids = bindparam("intensity_product_ids", type_=ARRAY(Integer))
    u = union_all(*_attribution_branches(ids, product_attribution.c.product_id)).subquery("u")
    return select(u).order_by(u.c.product_id, u.c.meter, u.c.quantity)


def attributed_points(
    conn: Connection, product_ids: Sequence[int]
) -> dict[int, list[AttributedPoint]]:
    """The points of each product with the share it takes, by product id."""
    out: dict[int, list[AttributedPoint]] = {}
    for r in conn.execute(_attributed(), {"intensity_product_ids": list(product_ids)}).all():
        out.setdefault(int(r.product_id), []).append(
            AttributedPoint(
                int(r.point_id), r.site, r.meter, r.quantity, r.carrier, r.unit, float(r.share)
            )
        )
    return out


def _counted_points(ids: Any, *head: Any, share: Any = ()) -> Select[Any]:
    """The counted energy points of the enterprises ``ids``, each row ``head`` columns first."""
    return (
        select(*head, *_POINT_COLUMNS, *share)
        .select_from(points)
        .join(meters, meters.c.id == points.c.meter_id)
        .join(sites, sites.c.id == meters.c.site_id)
        .where(
            meters.c.enterprise_id == func.any(ids),
            *_energy_points(meters.c.role.in_(_COUNTED_ROLES)),
        )
    )


@lru_cache(maxsize=1)
def _enterprise_points() -> Select[Any]:
    return _counted_points(_ENTERPRISE_IDS, meters.c.enterprise_id).order_by(
        meters.c.enterprise_id, meters.c.code, points.c.quantity
    )


@lru_cache(maxsize=1)
def members_select() -> CompoundSelect[Any]:
    """Every point a figure takes, as ``(kind, owner, point_id, site, meter, quantity, carrier,
    unit, share)``: kind "product" (owner: the product's id; its attributed points and shares)
    and "enterprise" (owner: the enterprise's id; its counted points, whole); the owners bound
    at execution as ``members_product_ids`` and ``members_enterprise_ids``."""
    products_ = bindparam("members_product_ids", type_=ARRAY(Integer))
    enterprises_ = bindparam("members_enterprise_ids", type_=ARRAY(Integer))
    product_id = product_attribution.c.product_id
    return union_all(
        *_attribution_branches(
            products_, literal("product").label("kind"), product_id.label("owner")
        ),
        _counted_points(
            enterprises_,
            literal("enterprise").label("kind"),
            meters.c.enterprise_id.label("owner"),
            share=(literal(1.0).label("share"),),
        ),
    )


def enterprise_points(
    conn: Connection, enterprise_ids: Sequence[int]
) -> dict[int, list[AttributedPoint]]:
    """Each enterprise's counted energy points (its comprehensive energy), by enterprise id."""
    out: dict[int, list[AttributedPoint]] = {}
    rows = conn.execute(
        _enterprise_points(), {"intensity_enterprise_ids": list(enterprise_ids)}
    ).all()
    for r in rows:
        out.setdefault(int(r.enterprise_id), []).append(
            AttributedPoint(int(r.point_id), r.site, r.meter, r.quantity, r.carrier, r.unit)
        )
    return out


@dataclass(frozen=True, slots=True)
class Entries:
    """Monthly production entries: output by product id, value added by enterprise id."""

    output: dict[int, list[ProductionFigure]]
    value_added: dict[int, list[ProductionFigure]]


@lru_cache(maxsize=1)
def _entries() -> Select[Any]:
    pe = production_entries.c
    months = bindparam("intensity_months", type_=ARRAY(Date))
    return select(
        pe.enterprise_id,
        pe.product_id,
        pe.kind,
        pe.period_start,
        pe.value,
        pe.unit,
        pe.revision,
        pe.entered_by,
        pe.price_base_year,
    ).where(
        pe.enterprise_id == func.any(_ENTERPRISE_IDS),
        pe.period == "month",
        pe.kind.in_(["output", "value_added"]),
        pe.period_start == func.any(months),
    )


def monthly_entries(
    conn: Connection, enterprise_ids: Sequence[int], months: Sequence[date]
) -> Entries:
    """The monthly output and value-added entries of ``months`` (daily entries are
    informational and not read): each row holds its latest revision."""
    params = {"intensity_enterprise_ids": list(enterprise_ids), "intensity_months": list(months)}
    output: dict[int, list[ProductionFigure]] = {}
    value_added: dict[int, list[ProductionFigure]] = {}
    for r in conn.execute(_entries(), params).all():
        figure = ProductionFigure(
            r.period_start, float(r.value), r.unit, int(r.revision), r.entered_by, r.price_base_year
        )
        if r.kind == "output" and r.product_id is not None:
            output.setdefault(int(r.product_id), []).append(figure)
        elif r.kind == "value_added" and r.product_id is None:
            value_added.setdefault(int(r.enterprise_id), []).append(figure)
    return Entries(output, value_added)

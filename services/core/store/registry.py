"""The registry as readers see it: enterprises, their sites, gateways, meters and points.

Writes (provisioning, deactivation) are ``services/core/registry/store.py``'s.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, select

from services.core.schema.tables import enterprises, gateways, meters, points, sites


@dataclass(frozen=True, slots=True)
class Enterprise:
    id: int
    code: str
    name: str
    industry: str
    town: str
    grid_region: str
    active: bool


@dataclass(frozen=True, slots=True)
class Site:
    code: str
    name: str
    kind: str
    dc_class: str | None
    pue_limit: float | None  # explicit; else the class's limit
    pue_category: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class Gateway:
    code: str
    name: str | None
    status: str | None
    status_at: datetime | None
    last_seen_at: datetime | None
    active: bool


@dataclass(frozen=True, slots=True)
class Point:
    quantity: str
    unit: str
    kind: str
    active: bool


@dataclass(frozen=True, slots=True)
class Meter:
    code: str
    site: str
    carrier: str
    protocol: str
    role: str
    multiplier: float
    serial: str | None
    gateway: str | None
    active: bool
    points: tuple[Point, ...]  # by quantity


_ENTERPRISE_COLUMNS = (
    enterprises.c.id,
    enterprises.c.code,
    enterprises.c.name,
    enterprises.c.industry,
    enterprises.c.town,
    enterprises.c.grid_region,
    enterprises.c.active,
)


def enterprise(conn: Connection, *, code: str) -> Enterprise | None:
    """The enterprise ``code``, active or not."""
    row = conn.execute(select(*_ENTERPRISE_COLUMNS).where(enterprises.c.code == code)).first()
    return None if row is None else Enterprise(**row._mapping)


# enterprise ids by code, per engine (each database its own); see enterprise_id
_KNOWN_IDS: WeakKeyDictionary[Engine, dict[str, int]] = WeakKeyDictionary()
_KNOWN_IDS_MAX = 100_000


def enterprise_id(conn: Connection, *, code: str) -> int | None:
    """The id of the enterprise ``code``, active or not. An enterprise is never deleted and its
    code never changes (registry loads deactivate), so an id once found is remembered for the
    engine's life: a request that only checks who may see an enterprise costs no round trip.
    An unknown code is asked again (it may be registered later)."""
    known = _KNOWN_IDS.setdefault(conn.engine, {})
    found = known.get(code)
    if found is None:
        found = conn.execute(select(enterprises.c.id).where(enterprises.c.code == code)).scalar()
        if found is not None and len(known) < _KNOWN_IDS_MAX:
            known[code] = found
    return found


def enterprises_page(
    conn: Connection,
    *,
    limit: int,
    after: str | None = None,
    enterprise_ids: Collection[int] | None = None,
    town: str | None = None,
    industry: str | None = None,
) -> list[Enterprise]:
    """Up to ``limit`` enterprises by code, after the code ``after``; only those of
    ``enterprise_ids`` (None: every one), of ``town``, whose industry code starts with
    ``industry``."""
    stmt = select(*_ENTERPRISE_COLUMNS).order_by(enterprises.c.code).limit(limit)
    if enterprise_ids is not None:
        stmt = stmt.where(enterprises.c.id.in_(list(enterprise_ids)))
    if town is not None:
        stmt = stmt.where(enterprises.c.town == town)
    if industry is not None:
        stmt = stmt.where(enterprises.c.industry.startswith(industry))
    if after is not None:
        stmt = stmt.where(enterprises.c.code > after)
    return [Enterprise(**r._mapping) for r in conn.execute(stmt)]


def active_enterprise_names(
    conn: Connection, *, enterprise_ids: Collection[int] | None = None
) -> dict[str, str]:
    """Name by code of the active enterprises (only those of ``enterprise_ids``; None: every
    one), in code order."""
    stmt = select(enterprises.c.code, enterprises.c.name).where(enterprises.c.active)
    if enterprise_ids is not None:
        stmt = stmt.where(enterprises.c.id.in_(list(enterprise_ids)))
    return {r.code: r.name for r in conn.execute(stmt.order_by(enterprises.c.code))}


def town_is_known(conn: Connection, *, town: str) -> bool:
    """Whether an active enterprise lies in ``town``."""
    stmt = select(enterprises.c.id).where(enterprises.c.town == town, enterprises.c.active)
    return conn.execute(stmt.limit(1)).first() is not None


def enterprise_code(conn: Connection, *, enterprise_id: int) -> str | None:
    return conn.execute(
        select(enterprises.c.code).where(enterprises.c.id == enterprise_id)
    ).scalar()


def gateway_code(conn: Connection, *, gateway_id: int) -> str | None:
    return conn.execute(select(gateways.c.code).where(gateways.c.id == gateway_id)).scalar()


def gateway_id(conn: Connection, *, enterprise_id: int, code: str | None) -> int | None:
    """The id of the enterprise's gateway ``code`` (None: no such gateway)."""
    return conn.execute(
        select(gateways.c.id).where(
            gateways.c.enterprise_id == enterprise_id, gateways.c.code == code
        )
    ).scalar()


def sites_of(conn: Connection, *, enterprise_id: int) -> list[Site]:
    """The enterprise's sites, deactivated ones included, by code."""
    stmt = select(sites).where(sites.c.enterprise_id == enterprise_id).order_by(sites.c.code)
    return [
        Site(
            code=r.code,
            name=r.name,
            kind=r.kind,
            dc_class=r.dc_class,
            pue_limit=float(r.pue_limit) if r.pue_limit is not None else None,
            pue_category=r.pue_category,
            active=r.active,
        )
        for r in conn.execute(stmt)
    ]


def gateways_of(conn: Connection, *, enterprise_id: int) -> list[Gateway]:
    """The enterprise's gateways, deactivated ones included, by code."""
    stmt = (
        select(gateways).where(gateways.c.enterprise_id == enterprise_id).order_by(gateways.c.code)
    )
    return [
        Gateway(
            code=r.code,
            name=r.name,
            status=r.status,
            status_at=r.status_at,
            last_seen_at=r.last_seen_at,
            active=r.active,
        )
        for r in conn.execute(stmt)
    ]


def meters_of(conn: Connection, *, enterprise_id: int) -> list[Meter]:
    """The enterprise's meters by code, deactivated ones included, each with its points."""
    point_rows = conn.execute(
        select(points.c.meter_id, points.c.quantity, points.c.unit, points.c.kind, points.c.active)
        .join(meters, meters.c.id == points.c.meter_id)
        .where(meters.c.enterprise_id == enterprise_id)
        .order_by(points.c.quantity)
    )
    by_meter: dict[int, list[Point]] = {}
    for p in point_rows:
        by_meter.setdefault(p.meter_id, []).append(Point(p.quantity, p.unit, p.kind, p.active))
    stmt = (
        select(meters, sites.c.code.label("site_code"), gateways.c.code.label("gateway_code"))
        .join(sites, sites.c.id == meters.c.site_id)
        .outerjoin(gateways, gateways.c.id == meters.c.gateway_id)
        .where(meters.c.enterprise_id == enterprise_id)
        .order_by(meters.c.code)
    )
    return [
        Meter(
            code=r.code,
            site=r.site_code,
            carrier=r.carrier,
            protocol=r.protocol,
            role=r.role,
            multiplier=float(r.multiplier),
            serial=r.serial,
            gateway=r.gateway_code,
            active=r.active,
            points=tuple(by_meter.get(r.id, ())),
        )
        for r in conn.execute(stmt)
    ]

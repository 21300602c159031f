"""Apply a provisioning spec to the database, idempotently.

Within each enterprise the file is authoritative: its sites, gateways, meters and points that the
file no longer lists are deactivated (never deleted: readings reference them). Enterprises absent
from the file are left as they are, so one file may provision a single enterprise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, and_, delete, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert

from services.core.domain.quantities import QUANTITIES, QuantityCode
from services.core.errors import RegistryError
from services.core.registry.spec import (
    BudgetSpec,
    DistrictSpec,
    EnterpriseSpec,
    MeterSpec,
    ProductSpec,
)
from services.core.schema.tables import (
    budgets,
    enterprises,
    gateways,
    meters,
    points,
    product_attribution,
    products,
    readings,
    rollup_dirty,
    sites,
)


@dataclass
class ApplyReport:
    """Counts of rows per table and outcome (created / updated / unchanged / deactivated)."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, table: str, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[(table, outcome)] += n

    def summary(self) -> str:
        parts = [f"{t} {o} {n}" for (t, o), n in sorted(self.counts.items())]
        return ", ".join(parts) if parts else "nothing to do"

    @property
    def changed(self) -> bool:
        return any(o != "unchanged" for (_, o) in self.counts)


def _upsert(
    conn: Connection,
    table: Table,
    keys: dict[str, Any],
    values: dict[str, Any],
    report: ApplyReport,
) -> int:
    """Insert or update one row keyed by ``keys``; report whether it changed. Returns its id."""
    row = {**keys, **values, "active": True}
    stmt: Any = insert(table).values(**row)
    changed_cols = [*values, "active"]
    excluded = stmt.excluded
    distinct = func.row(*[table.c[c] for c in changed_cols]).is_distinct_from(
        func.row(*[excluded[c] for c in changed_cols])
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            **{c: excluded[c] for c in changed_cols},
            **({"updated_at": func.now()} if "updated_at" in table.c else {}),
        },
        where=distinct,
    ).returning(table.c.id, literal_column("(xmax = 0)").label("inserted"))
    result = conn.execute(stmt).first()
    if result is not None:
        report.add(table.name, "created" if result.inserted else "updated")
        return int(result.id)
    report.add(table.name, "unchanged")
    where = and_(*[table.c[k] == v for k, v in keys.items()])
    return int(conn.execute(select(table.c.id).where(where)).scalar_one())


def _deactivate(
    conn: Connection, table: Table, scope: Any, keep_ids: list[int], report: ApplyReport
) -> None:
    values: dict[str, Any] = {"active": False}
    if "updated_at" in table.c:
        values["updated_at"] = func.now()
    stmt = (
        update(table)
        .where(scope, table.c.active.is_(True), table.c.id.not_in(keep_ids or [-1]))
        .values(**values)
    )
    report.add(table.name, "deactivated", conn.execute(stmt).rowcount)


def _apply_meter(
    conn: Connection,
    *,
    meter: MeterSpec,
    enterprise_id: int,
    site_id: int,
    gateway_ids: dict[str, int],
    report: ApplyReport,
) -> None:
    meter_id = _upsert(
        conn,
        meters,
        {"enterprise_id": enterprise_id, "code": meter.code},
        {
            "site_id": site_id,
            "gateway_id": gateway_ids[meter.gateway] if meter.gateway else None,
            "serial": meter.serial,
            "carrier": meter.carrier.value,
            "protocol": meter.protocol,
            "multiplier": meter.multiplier,
            "role": meter.role,
            "connection": meter.connection,
            "commissioned": meter.commissioned,
            "decommissioned": meter.decommissioned,
        },
        report,
    )
    # the rows as pairs: a Result has keys() and so is not taken for pairs by dict()
    declared = dict(
        conn.execute(
            select(points.c.quantity, points.c.interval_s).where(points.c.meter_id == meter_id)
        ).all()
    )
    by_quantity: dict[str, int] = {}
    # power before energy: an energy point integrated from power names its power point
    for p in sorted(meter.points, key=lambda p: p.from_power):
        q = QUANTITIES[p.quantity]
        by_quantity[p.quantity] = _upsert(
            conn,
            points,
            {"meter_id": meter_id, "quantity": p.quantity},
            {
                "unit": q.unit,
                "kind": q.kind.value,
                "min_value": p.min,
                "max_value": p.max,
                "register_max": p.register_max,
                "max_rate": p.max_rate,
                "interval_s": p.interval_s or meter.interval_s,
                "source_point_id": by_quantity[QuantityCode.POWER_KW] if p.from_power else None,
            },
            report,
        )
        was = declared.get(p.quantity)
        if was is not None and was != (p.interval_s or meter.interval_s):
            _recount_periods(conn, by_quantity[p.quantity])
    point_ids = list(by_quantity.values())
    _deactivate(conn, points, points.c.meter_id == meter_id, point_ids, report)


def _recount_periods(conn: Connection, point_id: int) -> None:
    """A changed declared interval changes the point's collection period: mark its readings for
    the rollups to recount (the daily rows count periods)."""
    conn.execute(
        insert(rollup_dirty).from_select(
            ["point_id", "from_ts", "to_ts"],
            select(readings.c.point_id, func.min(readings.c.ts), func.max(readings.c.ts))
            .where(readings.c.point_id == point_id)
            .group_by(readings.c.point_id),
        )
    )


def _apply_enterprise(conn: Connection, ent: EnterpriseSpec, report: ApplyReport) -> None:
    enterprise_id = _upsert(
        conn,
        enterprises,
        {"code": ent.code},
        {
            "name": ent.name,
            "industry": ent.industry,
            "town": ent.town,
            "grid_region": ent.grid_region,
            "heating_values": [h.model_dump(mode="json") for h in ent.heating_values] or None,
        },
        report,
    )
    gateway_ids = {
        g.code: _upsert(
            conn,
            gateways,
            {"enterprise_id": enterprise_id, "code": g.code},
            {"name": g.name},
            report,
        )
        for g in ent.gateways
    }
    _deactivate(
        conn,
        gateways,
        gateways.c.enterprise_id == enterprise_id,
        list(gateway_ids.values()),
        report,
    )
    site_ids: list[int] = []
    meter_ids: list[int] = []
    for site in ent.sites:
        site_id = _upsert(
            conn,
            sites,
            {"enterprise_id": enterprise_id, "code": site.code},
            {
                "name": site.name or site.code,
                "kind": site.kind,
                "dc_class": site.dc_class,
                "pue_limit": site.pue_limit,
                "pue_category": site.pue_category,
            },
            report,
        )
        site_ids.append(site_id)
        for meter in site.meters:
            _apply_meter(
                conn,
                meter=meter,
                enterprise_id=enterprise_id,
                site_id=site_id,
                gateway_ids=gateway_ids,
                report=report,
            )
        meter_ids.extend(
            conn.execute(
                select(meters.c.id).where(
                    meters.c.enterprise_id == enterprise_id,
                    meters.c.code.in_([m.code for m in site.meters] or [""]),
                )
            ).scalars()
        )
    _apply_sub_meters(conn, ent, enterprise_id, report)
    _deactivate(conn, meters, meters.c.enterprise_id == enterprise_id, meter_ids, report)
    _deactivate(conn, sites, sites.c.enterprise_id == enterprise_id, site_ids, report)
    budget_ids = [_upsert_budget(conn, enterprise_id, b, report) for b in ent.budgets]
    _deactivate(conn, budgets, budgets.c.enterprise_id == enterprise_id, budget_ids, report)
    product_ids = [_apply_product(conn, enterprise_id, p, report) for p in ent.products]
    _deactivate(conn, products, products.c.enterprise_id == enterprise_id, product_ids, report)


def _attribution_key(row: tuple[int | None, int | None, float]) -> tuple[int, int, float]:
    return (row[0] or 0, row[1] or 0, row[2])


def _apply_product(
    conn: Connection, enterprise_id: int, p: ProductSpec, report: ApplyReport
) -> int:
    """Upsert the product; its attribution is replaced when it differs from the file's."""
    product_id = _upsert(
        conn,
        products,
        {"enterprise_id": enterprise_id, "code": p.code},
        {
            "name": p.name,
            "unit": p.unit,
            "quota_standard": p.quota.standard if p.quota else None,
            "quota_product": p.quota.product if p.quota else None,
            "plant": p.plant,
            "electricity_method": p.electricity_method,
        },
        report,
    )
    site_ids = dict(
        conn.execute(
            select(sites.c.code, sites.c.id).where(sites.c.enterprise_id == enterprise_id)
        ).all()
    )
    meter_ids = dict(
        conn.execute(
            select(meters.c.code, meters.c.id).where(meters.c.enterprise_id == enterprise_id)
        ).all()
    )
    want = [
        (
            site_ids[a.site] if a.site is not None else None,
            meter_ids[a.meter] if a.meter is not None else None,
            a.share,
        )
        for a in p.attribution
    ]
    want.sort(key=_attribution_key)
    a = product_attribution.c
    have = sorted(
        (
            (r.site_id, r.meter_id, r.share)
            for r in conn.execute(
                select(a.site_id, a.meter_id, a.share).where(a.product_id == product_id)
            )
        ),
        key=_attribution_key,
    )
    if want != have:
        conn.execute(delete(product_attribution).where(a.product_id == product_id))
        conn.execute(
            product_attribution.insert(),
            [
                {"product_id": product_id, "site_id": s, "meter_id": m, "share": sh}
                for s, m, sh in want
            ],
        )
        report.add("product_attribution", "replaced" if have else "created", len(want))
    return product_id


def _apply_sub_meters(
    conn: Connection, ent: EnterpriseSpec, enterprise_id: int, report: ApplyReport
) -> None:
    """Point each meter at its parent (``sub_of``), once every meter of the enterprise exists:
    a parent may be listed after its sub-meter, or at another site."""
    parents = {m.code: m.sub_of for s in ent.sites for m in s.meters}
    ids = dict(
        conn.execute(
            select(meters.c.code, meters.c.id).where(
                meters.c.enterprise_id == enterprise_id, meters.c.code.in_(list(parents) or [""])
            )
        ).all()
    )
    for code, parent in parents.items():
        want = ids[parent] if parent is not None else None
        changed = conn.execute(
            update(meters)
            .where(meters.c.id == ids[code], meters.c.sub_of.is_distinct_from(want))
            .values(sub_of=want, updated_at=func.now())
        ).rowcount
        report.add("meters", "sub_of changed", changed)


def _upsert_budget(conn: Connection, enterprise_id: int, b: BudgetSpec, report: ApplyReport) -> int:
    return _upsert(
        conn,
        budgets,
        {
            "enterprise_id": enterprise_id,
            "site_code": b.site or "",
            "year": b.year,
            "carrier": b.carrier.value if b.carrier else "",
        },
        {
            "amount": b.amount,
            "unit": b.unit,
            "monthly": {str(k): v for k, v in b.monthly.items()} if b.monthly else None,
        },
        report,
    )


def set_budget(conn: Connection, enterprise: str, b: BudgetSpec) -> ApplyReport:
    """Create or change one budget of an active enterprise (``energymon budgets set``); the
    enterprise's other budgets stay. A later load of a registry file that lists the enterprise's
    budgets replaces them all, as the file is authoritative."""
    enterprise_id = conn.execute(
        select(enterprises.c.id).where(enterprises.c.code == enterprise, enterprises.c.active)
    ).scalar()
    if enterprise_id is None:
        raise RegistryError(f"no active enterprise {enterprise}")
    if b.site is not None:
        site = conn.execute(
            select(sites.c.id).where(
                sites.c.enterprise_id == enterprise_id, sites.c.code == b.site, sites.c.active
            )
        ).scalar()
        if site is None:
            raise RegistryError(f"enterprise {enterprise} has no active site {b.site}")
    report = ApplyReport()
    _upsert_budget(conn, enterprise_id, b, report)
    return report


def apply_district(conn: Connection, spec: DistrictSpec) -> ApplyReport:
    """Apply ``spec`` inside the caller's transaction; returns what changed."""
    report = ApplyReport()
    for ent in spec.enterprises:
        _apply_enterprise(conn, ent, report)
    return report


def deactivate_enterprise(conn: Connection, code: str) -> ApplyReport:
    """Take an enterprise out of service: it, its sites, gateways, meters, points and budgets
    become inactive (nothing is deleted: its readings and history stay). Applying a document
    that lists it again brings it back."""
    enterprise_id = conn.execute(
        select(enterprises.c.id).where(enterprises.c.code == code, enterprises.c.active)
    ).scalar()
    if enterprise_id is None:
        raise RegistryError(f"no active enterprise {code}")
    report = ApplyReport()
    its_meters = select(meters.c.id).where(meters.c.enterprise_id == enterprise_id)
    _deactivate(conn, points, points.c.meter_id.in_(its_meters), [], report)
    for table in (meters, sites, gateways, budgets, products):
        _deactivate(conn, table, table.c.enterprise_id == enterprise_id, [], report)
    _deactivate(conn, enterprises, enterprises.c.id == enterprise_id, [], report)
    return report

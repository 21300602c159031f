"""The plan of a registry file: what applying it would add, remove and change, field by field.

The file is applied by the one apply path (store.apply_district) between two snapshots of the
rows of the enterprises it lists, inside the caller's transaction; the caller rolls back for a
dry run (the console's check, ``energymon registry load --dry-run``) or commits to apply.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Select, select

from services.core.registry.diff import RowChange, RowKey, diff_snapshots
from services.core.registry.spec import DistrictSpec
from services.core.registry.store import ApplyReport, apply_district
from services.core.schema.tables import (
    budgets,
    enterprises,
    gateways,
    meters,
    points,
    product_attribution,
    products,
    sites,
)


@dataclass(frozen=True, slots=True)
class DistrictPlan:
    report: ApplyReport  # rows per table and outcome
    changes: list[RowChange]  # row by row, field by field


def plan_district(conn: Connection, spec: DistrictSpec) -> DistrictPlan:
    """Apply ``spec`` in the caller's transaction and say what it changed (roll back to only
    look)."""
    codes = [e.code for e in spec.enterprises]
    before = snapshot(conn, codes)
    report = apply_district(conn, spec)
    return DistrictPlan(report, diff_snapshots(before, snapshot(conn, codes)))


def snapshot(conn: Connection, enterprise_codes: Sequence[str]) -> dict[RowKey, dict[str, Any]]:
    """The registry rows of these enterprises, keyed by table and natural key, with their
    references as codes (a site's code, not its id) so that they read and compare as the file
    does."""
    rows: dict[RowKey, dict[str, Any]] = {}
    for table, n_keys, stmt in _views():
        for r in conn.execute(stmt.where(_ent.c.code.in_(list(enterprise_codes)))):
            values = r._asdict()
            key = tuple("" if values[k] is None else str(values[k]) for k in list(values)[:n_keys])
            rows[(table, key)] = {k: values[k] for k in list(values)[n_keys:]}
    for key, attribution in _attributions(conn, enterprise_codes).items():
        if ("products", key) in rows:
            rows[("products", key)]["attribution"] = attribution
    return rows


_ent = enterprises.alias("ent")
_site = sites.alias("site")
_gw = gateways.alias("gw")
_parent = meters.alias("parent")
_meter = meters.alias("meter")
_source = points.alias("source")


def _view(
    n_keys: int, columns: Sequence[ColumnElement[Any]], source: FromClause
) -> tuple[int, Select[Any]]:
    return n_keys, select(*columns).select_from(source)


def _views() -> list[tuple[str, int, Select[Any]]]:
    """(table, how many leading columns are the key, the select of the enterprise's rows)."""
    e = _ent.c
    views = {
        "enterprises": _view(
            1,
            [e.code, e.name, e.industry, e.town, e.grid_region, e.heating_values, e.active],
            _ent,
        ),
        "gateways": _view(
            2,
            [e.code.label("ent"), gateways.c.code, gateways.c.name, gateways.c.active],
            gateways.join(_ent, _ent.c.id == gateways.c.enterprise_id),
        ),
        "sites": _view(
            2,
            [
                e.code.label("ent"),
                *(sites.c[c] for c in ("code", "name", "kind", "dc_class", "pue_limit")),
                sites.c.pue_category,
                sites.c.active,
            ],
            sites.join(_ent, _ent.c.id == sites.c.enterprise_id),
        ),
        "meters": _view(
            2,
            [
                e.code.label("ent"),
                meters.c.code,
                _site.c.code.label("site"),
                _gw.c.code.label("gateway"),
                *(meters.c[c] for c in ("serial", "carrier", "protocol", "multiplier", "role")),
                _parent.c.code.label("sub_of"),
                *(meters.c[c] for c in ("connection", "commissioned", "decommissioned")),
                meters.c.active,
            ],
            meters.join(_ent, _ent.c.id == meters.c.enterprise_id)
            .join(_site, _site.c.id == meters.c.site_id)
            .outerjoin(_gw, _gw.c.id == meters.c.gateway_id)
            .outerjoin(_parent, _parent.c.id == meters.c.sub_of),
        ),
        "points": _view(
            3,
            [
                e.code.label("ent"),
                _meter.c.code.label("meter"),
                points.c.quantity,
                *(points.c[c] for c in ("unit", "kind", "min_value", "max_value")),
                *(points.c[c] for c in ("register_max", "max_rate", "interval_s")),
                _source.c.quantity.label("from_point"),
                points.c.active,
            ],
            points.join(_meter, _meter.c.id == points.c.meter_id)
            .join(_ent, _ent.c.id == _meter.c.enterprise_id)
            .outerjoin(_source, _source.c.id == points.c.source_point_id),
        ),
        "budgets": _view(
            4,
            [
                e.code.label("ent"),
                *(budgets.c[c] for c in ("site_code", "year", "carrier", "amount", "unit")),
                budgets.c.monthly,
                budgets.c.active,
            ],
            budgets.join(_ent, _ent.c.id == budgets.c.enterprise_id),
        ),
        "products": _view(
            2,
            [
                e.code.label("ent"),
                *(products.c[c] for c in ("code", "name", "unit", "quota_standard")),
                *(products.c[c] for c in ("quota_product", "plant", "electricity_method")),
                products.c.registered,
                products.c.active,
            ],
            products.join(_ent, _ent.c.id == products.c.enterprise_id),
        ),
    }
    return [(table, n, stmt) for table, (n, stmt) in views.items()]


def _attributions(conn: Connection, enterprise_codes: Sequence[str]) -> dict[tuple[str, ...], str]:
    """Each product's attribution as one line: ``site a 0.6; meter m-01 0.4``."""
    a = product_attribution.c
    stmt = (
        select(_ent.c.code, products.c.code, _site.c.code, _meter.c.code, a.share)
        .select_from(
            product_attribution.join(products, products.c.id == a.product_id)
            .join(_ent, _ent.c.id == products.c.enterprise_id)
            .outerjoin(_site, _site.c.id == a.site_id)
            .outerjoin(_meter, _meter.c.id == a.meter_id)
        )
        .where(_ent.c.code.in_(list(enterprise_codes)))
    )
    parts: defaultdict[tuple[str, ...], list[str]] = defaultdict(list)
    for ent, product, site, meter, share in conn.execute(stmt):
        target = f"meter {meter}" if meter is not None else f"site {site}"
        parts[(ent, product)].append(f"{target} {share:g}")
    return {key: "; ".join(sorted(p)) for key, p in parts.items()}

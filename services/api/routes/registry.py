"""Registry resources: enterprises, sites, gateways, meters with points; the admin apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from services.api.deps import Admin, Ctx, Reader
from services.api.models.common import STANDARD_PROBLEMS, Page
from services.api.models.registry import (
    EnterpriseOut,
    GatewayOut,
    MeterOut,
    RegistryApplyOut,
    SiteOut,
)
from services.api.models.sparkplug import SparkplugNodeOut
from services.api.params import Code, Paging
from services.api.problems import Problem
from services.api.render import model_response
from services.api.tenancy import own_enterprises, visible_enterprise
from services.core.errors import RegistryError
from services.core.registry.spec import parse_district
from services.core.registry.store import ApplyReport, apply_district, deactivate_enterprise
from services.core.store import registry, sparkplug_nodes
from services.core.yaml_errors import yaml_line, yaml_problem

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=STANDARD_PROBLEMS)


@dataclass(frozen=True, slots=True)
class EnterpriseFilters:
    town: str | None = None
    industry: str | None = None


async def enterprise_filters(
    town: Annotated[str | None, Query(description="Town of the district, e.g. Xinkou")] = None,
    industry: Annotated[
        str | None, Query(description="GB/T 4754 industry code prefix, e.g. C33 or C")
    ] = None,
) -> EnterpriseFilters:
    return EnterpriseFilters(town=town, industry=industry)


@router.get("/enterprises", response_model=Page[EnterpriseOut], summary="List enterprises")
def list_enterprises(
    ctx: Ctx,
    who: Reader,
    filters: Annotated[EnterpriseFilters, Depends(enterprise_filters)],
    page: Paging,
) -> Response:
    """Key energy-using units in scope, ordered by code: every one for officers, your own for an
    enterprise account."""
    limit = page.size(ctx)
    after = page.after_text()
    with ctx.reads.connect() as conn:
        rows = registry.enterprises_page(
            conn,
            limit=limit + 1,
            after=after,
            enterprise_ids=own_enterprises(who),
            town=filters.town,
            industry=filters.industry,
        )
    items = [EnterpriseOut.model_validate(r, from_attributes=True) for r in rows[:limit]]
    out = Page[EnterpriseOut](items=items, next_cursor=page.next_cursor(rows, lambda r: r.code))
    return model_response(Page[EnterpriseOut], out)


@router.get("/enterprises/{code}", response_model=EnterpriseOut, summary="One enterprise")
def get_enterprise(ctx: Ctx, who: Reader, code: Code) -> Response:
    """The enterprise's registry entry: name, industry, town and grid region. Another
    enterprise's code answers 404 to an enterprise account."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
    return model_response(EnterpriseOut, EnterpriseOut.model_validate(ent, from_attributes=True))


@router.get("/enterprises/{code}/sites", response_model=list[SiteOut], summary="Sites")
def list_sites(ctx: Ctx, who: Reader, code: Code) -> Response:
    """The enterprise's sites, deactivated ones included. Data centres carry their class
    (`new_large` and `new_super_large`: PUE limit 1.25; `existing`: 1.5) or an explicit limit."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        rows = registry.sites_of(conn, enterprise_id=ent.id)
    out = [SiteOut.model_validate(r, from_attributes=True) for r in rows]
    return model_response(list[SiteOut], out)


@router.get("/enterprises/{code}/gateways", response_model=list[GatewayOut], summary="Gateways")
def list_gateways(ctx: Ctx, who: Reader, code: Code) -> Response:
    """The enterprise's gateways with their last MQTT status (online/offline) and last contact."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        rows = registry.gateways_of(conn, enterprise_id=ent.id)
    out = [GatewayOut.model_validate(r, from_attributes=True) for r in rows]
    return model_response(list[GatewayOut], out)


@router.get(
    "/enterprises/{code}/sparkplug-nodes",
    response_model=list[SparkplugNodeOut],
    summary="Sparkplug edge nodes",
)
def list_sparkplug_nodes(ctx: Ctx, who: Reader, code: Code) -> Response:
    """The Sparkplug B edge nodes bound to the enterprise's meters, as the Sparkplug host last
    saw them (written every few seconds): session state, bdSeq, births, devices online, and the
    rebirth requests sent with their causes (docs/sparkplug.md)."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        rows = sparkplug_nodes.nodes_of(conn, enterprise_id=ent.id)
    out = [SparkplugNodeOut.model_validate(r, from_attributes=True) for r in rows]
    return model_response(list[SparkplugNodeOut], out)


@router.get(
    "/enterprises/{code}/meters", response_model=list[MeterOut], summary="Meters with their points"
)
def list_meters(ctx: Ctx, who: Reader, code: Code) -> Response:
    """The enterprise's meters with their site, carrier, role (`boundary`, `sub`,
    `facility_total` or `it_load`), multiplier, gateway and points."""
    with ctx.reads.connect() as conn:
        ent = visible_enterprise(conn, who, code)
        rows = registry.meters_of(conn, enterprise_id=ent.id)
    out = [MeterOut.model_validate(m, from_attributes=True) for m in rows]
    return model_response(list[MeterOut], out)


@router.post(
    "/registry/apply",
    response_model=RegistryApplyOut,
    summary="Provision enterprises from a district document (admin)",
)
async def apply_registry(ctx: Ctx, who: Admin, request: Request) -> Response:
    """The same document and code path as `energymon registry load`: JSON or YAML
    (`Content-Type: application/yaml`). Idempotent; within each enterprise listed, objects
    no longer listed are deactivated."""
    body = await request.body()  # at most ENERGYMON_API_MAX_BODY_BYTES (middleware)
    text = body.decode("utf-8", errors="replace")
    if "json" in request.headers.get("content-type", ""):
        text = yaml.safe_dump(yaml.safe_load(text) or {})  # JSON is YAML; keep line numbers sane
    try:
        spec = parse_district(text)
    except RegistryError as err:
        raise Problem(
            422, str(err), kind="registry-invalid", location=err.location, line=err.line
        ) from err

    def apply() -> ApplyReport:
        with ctx.engine.begin() as conn:
            return apply_district(conn, spec)

    report = await run_in_threadpool(apply)
    return _applied(report, enterprises=len(spec.enterprises))


def _applied(report: ApplyReport, *, enterprises: int) -> Response:
    out = RegistryApplyOut(
        enterprises=enterprises,
        changes={f"{t} {o}": n for (t, o), n in sorted(report.counts.items()) if n},
    )
    return model_response(RegistryApplyOut, out)


@router.put(
    "/registry/enterprises/{code}",
    response_model=RegistryApplyOut,
    summary="Create or replace one enterprise (admin)",
)
async def put_enterprise(ctx: Ctx, who: Admin, code: str, request: Request) -> Response:
    """One enterprise as it appears in a district document (JSON, or YAML with
    `Content-Type: application/yaml`), through the same code path as `/registry/apply`: its
    sites, gateways, meters, points and budgets become exactly the document's; objects no
    longer listed are deactivated. The code in the path must be the document's."""
    body = await request.body()  # at most ENERGYMON_API_MAX_BODY_BYTES (middleware)
    try:
        doc = yaml.safe_load(body.decode("utf-8", errors="replace"))
    except yaml.YAMLError as err:
        line = yaml_line(err)
        where = f"line {line}: " if line else ""
        raise Problem(
            422, f"{where}not valid YAML or JSON: {yaml_problem(err)}", kind="registry-invalid"
        ) from err
    if not isinstance(doc, dict):
        raise Problem(422, "the body is one enterprise (a mapping)", kind="registry-invalid")
    if doc.get("code") != code:
        raise Problem(
            422, f"the document's code {doc.get('code')!r} is not {code!r}", kind="registry-invalid"
        )
    try:
        spec = parse_district(yaml.safe_dump({"enterprises": [doc]}, allow_unicode=True))
    except RegistryError as err:
        raise Problem(422, str(err), kind="registry-invalid", location=err.location) from err

    def apply() -> ApplyReport:
        with ctx.engine.begin() as conn:
            return apply_district(conn, spec)

    return _applied(await run_in_threadpool(apply), enterprises=1)


@router.delete(
    "/registry/enterprises/{code}",
    response_model=RegistryApplyOut,
    summary="Take an enterprise out of service (admin)",
)
def delete_enterprise(ctx: Ctx, who: Admin, code: str) -> Response:
    """The enterprise and everything under it become inactive; readings, rollups and alert
    history stay. Putting the enterprise again brings it back."""
    with ctx.engine.begin() as conn:
        try:
            report = deactivate_enterprise(conn, code)
        except RegistryError as err:
            raise Problem(404, str(err)) from err
    return _applied(report, enterprises=1)

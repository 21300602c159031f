"""Data centres: the PUE ranking against each class limit for a window (24 h, month, year),
with coverage, those without a PUE set apart; and one data centre's daily PUE history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.api.console import charts
from services.api.console.access import ConsoleCtx, PageNotFoundError, User, enterprise_or_404
from services.api.console.access import own_code as own_code_of
from services.api.console.energy_tables import Gettext
from services.api.console.tables import Column, Kind, Row, Table, as_date, table
from services.api.console.views import gettext_for, render, wording_for
from services.api.console.wording import Wording
from services.api.models.pue import PueOut
from services.api.routes.pue import ranking_snapshot
from services.core.domain.roles import MeterRole
from services.core.store import registry
from services.core.store.consumption import consumption
from services.core.store.rollups import midnight
from services.core.store.scope import Scope
from services.core.store.sites import data_centre

router = APIRouter(prefix="/console", include_in_schema=False)
WINDOWS = ("rolling_24h", "mtd", "ytd")
HISTORY_DAYS = 30


@router.get("/data-centres")
def ranking(
    ctx: ConsoleCtx,
    request: Request,
    who: User,
    window: Annotated[str, Query(pattern="^(rolling_24h|mtd|ytd)$")] = "ytd",
) -> Response:
    rows: list[PueOut] = [
        r.row
        for r in ranking_snapshot(ctx, window).value
        if who.sees_everything or r.enterprise_id == who.enterprise_id
    ]
    ranked = [r for r in rows if r.pue is not None]
    apart = [r for r in rows if r.pue is None]
    chart = charts.pue_ranking(
        [f"{r.enterprise[-6:]}/{r.site}" for r in ranked],
        [r.pue or 0.0 for r in ranked],
        [bool(r.over_limit) for r in ranked],
        [r.limit for r in rows if r.limit is not None],
        gettext_for(request)("Limit"),
    )
    with ctx.reads.connect() as conn:
        own = own_code_of(conn, who)
        names = registry.active_enterprise_names(
            conn, enterprise_ids=None if who.sees_everything else (who.enterprise_id or 0,)
        )
    return render(
        ctx,
        request,
        "data_centres.html",
        who=who,
        own=own,
        window=window,
        windows=WINDOWS,
        ranked=ranked,
        apart=apart,
        ranking_chart=chart,
        tables=ranking_tables(
            ranked, apart, names, window, gettext_for(request), wording_for(request)
        ),
    )


def ranking_tables(
    ranked: list[PueOut],
    apart: list[PueOut],
    names: dict[str, str],
    window: str,
    _: Gettext,
    words: Wording,
) -> list[Table]:
    filters = ((_("Window"), _(window)),)
    enterprise, site, verdict = Column(_("Enterprise")), Column(_("Site")), Column(_("Verdict"))
    coverage = (
        Column(_("Facility coverage"), kind=Kind.SHARE, places=1),
        Column(_("IT coverage"), kind=Kind.SHARE, places=1),
    )

    def link(r: PueOut) -> dict[int, str]:
        return {2: f"/console/enterprises/{r.enterprise}/data-centres/{r.site}"}

    return [
        table(
            "pue-ranking",
            _("PUE ranking"),
            (
                Column("#", kind=Kind.INTEGER),
                enterprise,
                site,
                Column("PUE", kind=Kind.NUMBER, places=3),
                Column(_("Limit"), kind=Kind.NUMBER, places=2),
                verdict,
                *coverage,
            ),
            [
                Row(
                    (
                        i,
                        names.get(r.enterprise, r.enterprise),
                        r.site,
                        r.pue,
                        r.limit,
                        words.pue(r, r.threshold),
                        r.facility_coverage,
                        r.it_coverage,
                    ),
                    links=link(r),
                    attrs={
                        "class": "over" if r.over_limit else "",
                        "data-site": f"{r.enterprise}/{r.site}",
                    },
                )
                for i, r in enumerate(ranked, start=1)
            ],
            filters=filters,
        ),
        table(
            "pue-insufficient",
            _("Without a PUE (insufficient data or no IT load)"),
            (enterprise, site, verdict, *coverage),
            [
                Row(
                    (
                        names.get(r.enterprise, r.enterprise),
                        r.site,
                        words.pue(r, r.threshold),
                        r.facility_coverage,
                        r.it_coverage,
                    ),
                    links={1: link(r)[2]},
                    attrs={"data-site": f"{r.enterprise}/{r.site}"},
                )
                for r in apart
            ],
            filters=filters,
        ),
    ]


@router.get("/enterprises/{code}/data-centres/{site}")
def history(ctx: ConsoleCtx, request: Request, who: User, code: str, site: str) -> Response:
    """Daily facility and IT energy of the last 30 days and the PUE they give."""
    zone = ctx.config.common.zone
    now = datetime.now(UTC)
    start = midnight(now.astimezone(zone).date() - timedelta(days=HISTORY_DAYS - 1), zone)
    with ctx.reads.connect() as conn:
        own = own_code_of(conn, who)
        ent = enterprise_or_404(conn, who, code)
        dc = data_centre(conn, enterprise_id=ent.id, site=site)
        if dc is None:
            raise PageNotFoundError
        sides: dict[str, dict[str, float]] = {"facility": {}, "it": {}}
        for meter in registry.meters_of(conn, enterprise_id=ent.id):
            if meter.site != site or not meter.active:
                continue
            side = _side(meter.role)
            if side is None:
                continue
            for c in consumption(
                conn,
                start=start,
                end=now,
                interval="1d",
                zone=zone,
                scope=Scope(enterprise=code, meter=meter.code, quantity="energy_import_kwh"),
            ):
                day = c.period.date().isoformat()
                sides[side][day] = sides[side].get(day, 0.0) + c.amount
    _ = gettext_for(request)
    days = sorted(set(sides["facility"]) | set(sides["it"]))
    rows = [(d, sides["facility"].get(d), sides["it"].get(d), _ratio(sides, d)) for d in days]
    energy_chart = charts.line(
        days,
        [
            (_("Facility"), [r[1] for r in rows]),
            ("IT", [r[2] for r in rows]),
        ],
        "kWh",
    )
    pue_chart = charts.line(days, [("PUE", [r[3] for r in rows])], "PUE")
    figures = table(
        "pue-history",
        _("Data centre") + f" {site}: " + _("Daily PUE"),
        (
            Column(_("Day"), kind=Kind.DATE),
            Column(_("Facility"), "kWh", Kind.NUMBER, 1),
            Column("IT", "kWh", Kind.NUMBER, 1),
            Column("PUE", kind=Kind.NUMBER, places=3),
        ),
        [(as_date(d), f, i, p) for d, f, i, p in rows],
        filters=((_("Enterprise"), f"{ent.name} ({ent.code})"), (_("Window"), _("last 30 days"))),
    )
    return render(
        ctx,
        request,
        "data_centre.html",
        who=who,
        own=own,
        ent=ent,
        dc=dc,
        rows=rows,
        energy_chart=energy_chart,
        pue_chart=pue_chart,
        tables=[figures],
    )


def _side(role: str) -> str | None:
    if role == MeterRole.FACILITY_TOTAL.value:
        return "facility"
    if role == MeterRole.IT_LOAD.value:
        return "it"
    return None


def _ratio(sides: dict[str, dict[str, float]], day: str) -> float | None:
    facility, it = sides["facility"].get(day), sides["it"].get(day)
    if facility is None or not it:
        return None
    return round(facility / it, 3)

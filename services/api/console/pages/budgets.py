"""Budgets: this year's budgets ranked by share used and projection (the API's
``/api/v1/budgets/status``, from the same shared snapshot), with the projection chart."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.console import charts
from services.api.console.access import ConsoleCtx, User, own_code
from services.api.console.energy_tables import Gettext
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render
from services.api.models.budgets import BudgetStatusOut
from services.api.routes.budgets import budget_snapshot
from services.core.store import registry

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/budgets")
def budgets(ctx: ConsoleCtx, request: Request, who: User) -> Response:
    _ = gettext_for(request)
    rows: list[BudgetStatusOut] = [
        r.row
        for r in budget_snapshot(ctx).value
        if who.sees_everything or r.enterprise_id == who.enterprise_id
    ]
    with ctx.reads.connect() as conn:
        own = own_code(conn, who)
        names = registry.active_enterprise_names(
            conn, enterprise_ids=None if who.sees_everything else (who.enterprise_id or 0,)
        )
    chart = charts.budget_projection(
        [_label(r, names) for r in rows],
        [r.share_used for r in rows],
        [projected_share(r) for r in rows],
        ctx.config.budget_thresholds,
        (_("Share used"), _("Projected")),
    )
    return render(
        ctx,
        request,
        "budgets.html",
        who=who,
        own=own,
        rows=rows,
        budget_chart=chart,
        tables=[budget_table(rows, names, _)],
    )


def budget_table(rows: list[BudgetStatusOut], names: dict[str, str], _: Gettext) -> Table:
    """The ranking with the chart's figures: share used and the projected share."""

    def verdict(b: BudgetStatusOut) -> str:
        text = _(b.verdict)
        if not b.data_sufficient and b.verdict != "insufficient_data":
            text += " · " + _("insufficient data")
        return text

    return table(
        "budget-ranking",
        _("Energy budgets this year"),
        (
            Column(_("Enterprise")),
            Column(_("Site")),
            Column(_("Period")),
            Column(_("Carrier")),
            Column(_("Unit")),
            Column(_("Budget"), kind=Kind.NUMBER, places=1),
            Column(_("Used"), kind=Kind.NUMBER, places=1),
            Column(_("Share used"), kind=Kind.SHARE, places=1),
            Column(_("Projected (run-rate)"), kind=Kind.NUMBER, places=1),
            Column(_("Projected (last year)"), kind=Kind.NUMBER, places=1),
            Column(_("Projected share"), kind=Kind.SHARE, places=1),
            Column(_("State")),
            Column(_("Completeness"), kind=Kind.SHARE, places=1),
        ),
        [
            Row(
                (
                    names.get(b.enterprise, b.enterprise),
                    b.site or "",
                    b.period,
                    _(b.carrier) if b.carrier else "tce",
                    b.unit,
                    b.budget,
                    b.used,
                    b.share_used,
                    b.projected_run_rate,
                    b.projected_last_year,
                    projected_share(b),
                    verdict(b),
                    b.coverage,
                ),
                links={0: f"/console/enterprises/{b.enterprise}"},
                attrs={
                    "class": f"state-{b.state}",
                    "data-budget": f"{b.enterprise}/{b.site or ''}/{b.period}/{b.carrier or 'tce'}",
                },
            )
            for b in rows
        ],
    )


def projected_share(row: BudgetStatusOut) -> float | None:
    """The higher of the two projections as a share of the budget (None without either)."""
    known = [p for p in (row.projected_run_rate, row.projected_last_year) if p is not None]
    return max(known) / row.budget if known and row.budget else None


def _label(row: BudgetStatusOut, names: dict[str, str]) -> str:
    name = names.get(row.enterprise, row.enterprise)
    parts = [name, row.site or "", row.carrier or "", row.period]
    return " ".join(p for p in parts if p)

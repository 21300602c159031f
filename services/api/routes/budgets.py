"""This year's energy budgets of the district, ranked by how far each is used."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from services.api.deps import Ctx, Reader
from services.api.models.budgets import BudgetStatusOut
from services.api.models.common import STANDARD_PROBLEMS
from services.api.snapshots import Ranked, Snapshot, ranked_response
from services.core.domain.budget import budget_verdict
from services.core.domain.rounding import SHARE_DIGITS, amount_digits, rounded
from services.core.factors import default_factors
from services.core.store import budgets

router = APIRouter(prefix="/api/v1", tags=["energy"], responses=STANDARD_PROBLEMS)


def budget_rows(ctx: Ctx) -> list[Ranked[BudgetStatusOut]]:
    """Every active budget of this year with its enterprise's id, most used first."""
    with ctx.reads.connect() as conn:
        rows = budgets.statuses(
            conn,
            default_factors(),
            now=datetime.now(UTC),
            zone=ctx.config.common.zone,
            thresholds=ctx.config.budget_thresholds,
            min_completeness=ctx.config.common.min_completeness,
        )
    out = [
        Ranked(
            b.enterprise_id,
            BudgetStatusOut(
                enterprise=b.enterprise,
                site=b.site or None,
                year=b.year,
                period=b.period,
                carrier=b.carrier or None,
                unit=b.unit,
                budget=b.amount,
                used=round(s.used, digits),
                share_used=round(s.share, SHARE_DIGITS),
                projected_run_rate=rounded(s.projected_run_rate, digits),
                projected_last_year=rounded(s.projected_last_year, digits),
                state=s.state.value,
                coverage=rounded(s.coverage, SHARE_DIGITS),
                data_sufficient=s.data_sufficient,
                verdict=budget_verdict(s).value,
            ),
        )
        for b, s in rows
        for digits in (amount_digits(b.unit),)
    ]
    return sorted(out, key=lambda r: _most_used_first(r.row))


def _most_used_first(row: BudgetStatusOut) -> tuple[float, float, str, str]:
    projected = max(row.projected_run_rate or 0.0, row.projected_last_year or 0.0)
    return (-row.share_used, -projected / row.budget, row.enterprise, row.site or "")


@router.get(
    "/budgets/status",
    response_model=list[BudgetStatusOut],
    summary="Budget status of every enterprise, ranked by share used and projection",
)
def budget_ranking(ctx: Ctx, who: Reader) -> Response:
    """This year's active budgets (tce or per carrier; enterprise-wide or per site), with used to
    date, share, the run-rate and last-year projections and the state the budget alerts use.
    The ranking is computed for the district at most every `ENERGYMON_API_SNAPSHOT_TTL_S`
    seconds and shared; `Age` and `Last-Modified` say when."""
    snap = budget_snapshot(ctx)
    return ranked_response(
        snap, list[BudgetStatusOut], None if who.sees_everything else who.enterprise_id
    )


def budget_snapshot(ctx: Ctx) -> Snapshot[list[Ranked[BudgetStatusOut]]]:
    """This year's budget ranking of the district, shared by the API and the console."""
    return ctx.snapshots.get("budgets", lambda: budget_rows(ctx))

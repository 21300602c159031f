"""Energy intensity for officers (能耗强度): the district's energy per 10^4 CNY of value added
and its decline on last year against the target, the ranking (by intensity, quota distance or
change on last year) with rows without a figure set apart, and the products over their quota.
The figures are the JSON API's snapshot (services/api/routes/intensity.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.api.console import charts
from services.api.console.access import ConsoleCtx, OfficerUser
from services.api.console.energy_tables import Gettext
from services.api.console.tables import Column, Kind, Row, Table, table
from services.api.console.views import gettext_for, render, wording_for
from services.api.console.wording import Wording
from services.api.intensity_out import district_out, ranking_out, violation_out
from services.api.models.intensity import RankingOut, RankOut, ViolationOut
from services.api.routes.intensity import intensity_snapshot, intensity_window
from services.core.domain.intensity import district_intensity
from services.core.store.intensity_ranking import RankBy, ranking, violations

router = APIRouter(prefix="/console", include_in_schema=False)
PERIODS = ("month", "quarter", "ytd")
RANKINGS = tuple(b.value for b in RankBy)
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def year_month(month: str | None) -> tuple[int | None, int | None]:
    """``YYYY-MM`` as (year, month); (None, None) for the default month."""
    return (int(month[:4]), int(month[5:])) if month else (None, None)


@router.get("/intensity")
def intensity(
    ctx: ConsoleCtx,
    request: Request,
    who: OfficerUser,
    month: Annotated[str | None, Query(pattern=MONTH)] = None,
    period: Annotated[str, Query(pattern="^(month|quarter|ytd)$")] = "month",
    by: Annotated[str, Query(pattern="^(intensity|quota_distance|yoy)$")] = "intensity",
) -> Response:
    window = intensity_window(ctx, *year_month(month), period)
    found = intensity_snapshot(ctx, window).value
    target = ctx.config.intensity.target_decline
    district = district_out(
        district_intensity(window, [(e.current, e.previous) for e in found], target), found
    )
    ranked = ranking_out(ranking(found, RankBy(by)), window.label)
    over = [violation_out(e, p) for e, p in violations(found)]
    _ = gettext_for(request)
    axes = {
        "intensity": "tce/10^4 CNY",
        "quota_distance": _("above the limit, per cent"),
        "yoy": _("change on last year, per cent"),
    }
    chart = charts.ranking(
        # the code's last six characters tell apart enterprises whose names the axis truncates
        [f"{r.enterprise[-6:]} {r.product or r.name}" for r in ranked.ranked],
        [_key(r, by) for r in ranked.ranked],
        [r.quota_verdict == "over_limit" for r in ranked.ranked],
        axes[by],
    )
    return render(
        ctx,
        request,
        "intensity.html",
        who=who,
        window=window,
        month=f"{window.year:04d}-{window.month:02d}",
        period=period,
        periods=PERIODS,
        by=by,
        rankings=RANKINGS,
        district=district,
        ranking=ranked,
        over=over,
        ranking_chart=chart,
        tables=intensity_tables(ranked, over, (window.label, period, by), _, wording_for(request)),
    )


def intensity_tables(
    ranked: RankingOut,
    over: list[ViolationOut],
    shown: tuple[str, str, str],
    _: Gettext,
    words: Wording,
) -> list[Table]:
    """The products over their quota, the ranking and the rows set apart."""
    label, period, by = shown
    filters = ((_("Period"), f"{label} ({_(period)})"),)
    ranked_by = (*filters, (_("Ranked by"), _(by)))

    def link(code: str) -> str:
        return f"/console/enterprises/{code}#intensity"

    violations = table(
        "over-quota-list",
        _("Products over their quota"),
        (
            Column(_("Enterprise")),
            Column(_("Product")),
            Column(_("Code")),
            Column(_("Value"), kind=Kind.NUMBER, places=2),
            Column(_("Limit"), kind=Kind.NUMBER, places=2),
            Column(_("Unit")),
            Column(_("Verdict")),
            Column(_("Standard and clause")),
            Column(_("Verified against the standard's text")),
        ),
        [
            Row(
                (
                    v.name,
                    v.product_name,
                    v.product,
                    v.value,
                    v.limit,
                    v.unit,
                    words.sentence(v.text),
                    v.clause,
                    _("yes") if v.verified else _("no"),
                ),
                links={0: link(v.enterprise)},
                attrs={"class": "over", "data-enterprise": v.enterprise},
            )
            for v in over
        ],
        filters=filters,
    )
    ranking_table = table(
        "intensity-ranking",
        _("Ranking"),
        (
            Column("#", kind=Kind.INTEGER),
            Column(_("Enterprise")),
            Column(_("Product")),
            Column(_("Value"), kind=Kind.NUMBER, places=4),
            Column(_("Unit")),
            Column(_("Change on last year"), kind=Kind.SHARE, places=1),
            Column(_("Share of the limit"), kind=Kind.SHARE, places=1),
            Column(_("Verdict")),
        ),
        [
            Row(
                (
                    r.rank,
                    r.name,
                    r.product or "",
                    r.value,
                    r.unit,
                    r.yoy_change,
                    r.share_of_limit,
                    (f"{_(r.quota_verdict)} " if r.quota_verdict else "") + words.sentence(r.text),
                ),
                links={1: link(r.enterprise)},
                attrs={
                    "class": "over" if r.quota_verdict == "over_limit" else "",
                    "data-enterprise": r.enterprise,
                },
            )
            for r in ranked.ranked
        ],
        filters=ranked_by,
    )
    apart = table(
        "intensity-apart",
        _("Not ranked (no figure)"),
        (Column(_("Enterprise")), Column(_("Product")), Column(_("Reason"))),
        [
            Row(
                (r.name, r.product or "", words.sentence(r.text)),
                links={0: link(r.enterprise)},
                attrs={"data-enterprise": r.enterprise},
            )
            for r in ranked.insufficient
        ],
        filters=ranked_by,
    )
    return [violations, ranking_table, apart]


def _key(r: RankOut, by: str) -> float | None:
    """What the row is ranked by, shares as per cent."""
    if by == "intensity":
        return r.value
    share = r.share_of_limit if by == "quota_distance" else r.yoy_change
    return None if share is None else round(share * 100, 1)

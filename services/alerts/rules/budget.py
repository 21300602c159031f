"""Budget alerts: a warning past each configured share (80 %, 90 %), an early warning when the
projected end-of-year use exceeds the budget, and a breach at 100 %. A breach supersedes the other
two (they clear once it opens)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.alerting.lifecycle import AlertKey, Finding, LiveAlert, Severity
from services.core.domain.budget import BudgetState
from services.core.factors import default_factors
from services.core.store.budgets import statuses

BUDGET_WARNING = "budget_warning"
BUDGET_PROJECTED_OVERRUN = "budget_projected_overrun"
BUDGET_EXCEEDED = "budget_exceeded"


def budget_findings(
    conn: Connection,
    now: datetime,
    _live: dict[AlertKey, LiveAlert],
    *,
    zone: ZoneInfo,
    thresholds: tuple[float, ...],
) -> list[Finding]:
    out = []
    for b, st in statuses(conn, default_factors(), now=now, zone=zone, thresholds=thresholds):
        evidence = {
            "budget": b.amount,
            "unit": b.unit,
            "used": round(st.used, 3),
            "share": round(st.share, 4),
            "year": b.year,
            "period": b.period,
            "projected_run_rate": None
            if st.projected_run_rate is None
            else round(st.projected_run_rate, 3),
            "projected_last_year": None
            if st.projected_last_year is None
            else round(st.projected_last_year, 3),
            "threshold_passed": st.threshold_passed,
            "coverage": None if st.coverage is None else round(st.coverage, 4),
            "data_sufficient": st.data_sufficient,
        }
        window = b.period  # the year, or a month of a monthly split
        exceeded = st.state == BudgetState.EXCEEDED
        projections = [p for p in (st.projected_run_rate, st.projected_last_year) if p is not None]
        out += [
            Finding(
                BUDGET_EXCEEDED,
                "budget",
                b.id,
                b.label,
                window,
                exceeded,
                Severity.CRITICAL,
                f"{b.label}: {st.share:.0%} of the budget used",
                value=round(st.used, 3),
                limit=b.amount,
                enterprise_id=b.enterprise_id,
                evidence=evidence,
            ),
            Finding(
                BUDGET_PROJECTED_OVERRUN,
                "budget",
                b.id,
                b.label,
                window,
                not exceeded and st.state == BudgetState.PROJECTED_OVERRUN,
                Severity.WARNING,
                f"{b.label}: projected {max(projections, default=0):,.1f} {b.unit} "
                f"exceeds the budget of {b.amount:,.1f}"
                + ("" if st.data_sufficient else f" (on {st.coverage or 0:.0%} of the data)"),
                value=round(max(projections, default=0.0), 3),
                limit=b.amount,
                enterprise_id=b.enterprise_id,
                evidence=evidence,
            ),
            Finding(
                BUDGET_WARNING,
                "budget",
                b.id,
                b.label,
                window,
                not exceeded and st.threshold_passed is not None,
                Severity.WARNING,
                f"{b.label}: {st.share:.0%} of the budget used (threshold "
                f"{(st.threshold_passed or 0):.0%})",
                value=round(st.share, 4),
                limit=st.threshold_passed,
                enterprise_id=b.enterprise_id,
                evidence=evidence,
            ),
        ]
    return out

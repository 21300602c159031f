"""Energy-budget status (用能预算管理): used, share, projections and the state.

Projection by run-rate: used + (average daily use over the last ``lookback_days``) x days left.
Projection by last year: used / (the share of last year's period total that had been used by the
same date), when last year's history exists. The state is ``exceeded`` at 100 % used, else
``projected_overrun`` when a projection exceeds the budget, else ``warning`` past the highest
threshold passed (default 80 % and 90 %), else ``ok``.

The data behind it: ``coverage`` is the completeness (services/core/domain/completeness.py) of
the budget's points over the period to date and the run-rate window, whichever is lower; below
the threshold (default 90 %) the answer says ``data_sufficient: false`` and its verdict is
"insufficient data" — unless the budget is already exceeded, which missing data cannot undo
(used is then a lower bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BudgetState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROJECTED_OVERRUN = "projected_overrun"
    EXCEEDED = "exceeded"


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: float
    used: float
    share: float
    projected_run_rate: float | None
    projected_last_year: float | None
    state: BudgetState
    threshold_passed: float | None
    coverage: float | None = None  # None: not measured (e.g. a unit test)
    data_sufficient: bool = True


class BudgetVerdict(StrEnum):
    """A budget status judged with its data; decided here for the API, reports and console."""

    EXCEEDED = "exceeded"
    PROJECTED_OVERRUN = "projected_overrun"
    WARNING = "warning"
    WITHIN = "within"
    INSUFFICIENT_DATA = "insufficient_data"


def budget_verdict(status: BudgetStatus) -> BudgetVerdict:
    if status.state is BudgetState.EXCEEDED:
        return BudgetVerdict.EXCEEDED
    if not status.data_sufficient:
        return BudgetVerdict.INSUFFICIENT_DATA
    if status.state is BudgetState.OK:
        return BudgetVerdict.WITHIN
    return BudgetVerdict(status.state.value)


def budget_status(
    *,
    budget: float,
    used: float,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    recent_use: float | None = None,
    lookback_days: float = 30.0,
    last_year_share_by_now: float | None = None,
    thresholds: Sequence[float] = (0.8, 0.9),
    coverage: float | None = None,
    min_completeness: float = 0.9,
) -> BudgetStatus:
    """``recent_use``: consumption in the ``lookback_days`` before ``now``.
    ``last_year_share_by_now``: last year's use by the same date / last year's period total.
    ``coverage``: the completeness the figures rest on (None: not judged)."""
    share = used / budget if budget > 0 else float("inf")
    days_left = max(0.0, (period_end - now).total_seconds() / 86400)
    run_rate = None
    if recent_use is not None and lookback_days > 0:
        run_rate = used + recent_use / lookback_days * days_left
    last_year = None
    if last_year_share_by_now:
        last_year = used / last_year_share_by_now
    passed = max((t for t in thresholds if share >= t), default=None)
    if share >= 1.0:
        state = BudgetState.EXCEEDED
    elif any(p is not None and p > budget for p in (run_rate, last_year)):
        state = BudgetState.PROJECTED_OVERRUN
    elif passed is not None:
        state = BudgetState.WARNING
    else:
        state = BudgetState.OK
    sufficient = coverage is None or coverage >= min_completeness
    return BudgetStatus(
        budget, used, share, run_rate, last_year, state, passed, coverage, sufficient
    )

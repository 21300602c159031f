"""Energy-budget status (用能预算管理): used, share, projections and the state.

Projection by run-rate: used + (average daily use over the last ``lookback_days``) x days left.
Projection by last year: used / (the share of last year's period total that had been used by the
same date), when last year's history exists. The state is ``exceeded`` at 100 % used, else
``projected_overrun`` when a projection exceeds the budget, else ``warning`` past the highest
threshold passed (default 80 % and 90 %), else ``ok``.
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
) -> BudgetStatus:
    """``recent_use``: consumption in the ``lookback_days`` before ``now``.
    ``last_year_share_by_now``: last year's use by the same date / last year's period total."""
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
    return BudgetStatus(budget, used, share, run_rate, last_year, state, passed)

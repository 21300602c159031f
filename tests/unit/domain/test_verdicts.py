"""Verdicts people read: PUE against its limit and budgets with their data, in words, at the
coverage threshold's edges."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.domain.budget import BudgetVerdict, budget_status, budget_verdict
from services.core.domain.pue import PueVerdict, pue, pue_verdict, pue_verdict_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("facility", "it", "kwh", "limit", "verdict", "words"),
    [
        (1.0, 0.90, 1310.0, 1.25, PueVerdict.OVER, "over the limit (1.310 > 1.25)"),
        (1.0, 0.90, 1200.0, 1.25, PueVerdict.WITHIN, "within the limit (1.200 <= 1.25)"),
        (1.0, 0.89, 1310.0, 1.25, PueVerdict.INSUFFICIENT_DATA,
         "insufficient data (IT side 89% < 90%)"),
        (0.43, 1.0, 1310.0, 1.5, PueVerdict.INSUFFICIENT_DATA,
         "insufficient data (facility side 43% < 90%)"),
        (1.0, 1.0, 1310.0, None, PueVerdict.NO_LIMIT, "no limit registered (PUE 1.310)"),
    ],
)  # fmt: skip
def test_a_pue_verdict_states_the_rule_it_is_judged_by(
    facility: float, it: float, kwh: float, limit: float | None, verdict: PueVerdict, words: str
) -> None:
    r = pue(kwh, 1000.0, facility_coverage=facility, it_coverage=it, threshold=0.9)
    assert pue_verdict(r, limit) is verdict
    assert pue_verdict_text(r, limit) == words


@pytest.mark.parametrize(
    ("used", "coverage", "verdict"),
    [
        (100.0, 0.90, BudgetVerdict.WITHIN),
        (100.0, 0.89, BudgetVerdict.INSUFFICIENT_DATA),
        (850.0, 0.90, BudgetVerdict.WARNING),
        (850.0, 0.89, BudgetVerdict.INSUFFICIENT_DATA),
        (1001.0, 0.50, BudgetVerdict.EXCEEDED),  # missing data cannot undo what was used
        (100.0, None, BudgetVerdict.WITHIN),  # not judged on coverage
    ],
)
def test_a_budget_on_too_little_data_says_so_unless_already_exceeded(
    used: float, coverage: float | None, verdict: BudgetVerdict
) -> None:
    status = budget_status(
        budget=1000.0,
        used=used,
        period_start=datetime(2026, 1, 1, tzinfo=SHANGHAI),
        period_end=datetime(2027, 1, 1, tzinfo=SHANGHAI),
        now=datetime(2026, 12, 30, tzinfo=SHANGHAI),
        coverage=coverage,
        min_completeness=0.9,
    )
    assert budget_verdict(status) is verdict
    assert status.data_sufficient is (coverage is None or coverage >= 0.9)

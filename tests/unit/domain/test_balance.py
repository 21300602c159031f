"""Meter balance and the days-against-month check, worked by hand."""

from __future__ import annotations

import pytest

from services.core.domain.balance import (
    BalanceVerdict,
    days_against_month,
    meter_balance,
)

# parent kWh, sub-meters kWh, lowest completeness, expected deviation, expected verdict
BALANCES = [
    (1000.0, [600.0, 380.0], 1.0, 0.02, BalanceVerdict.WITHIN),  # 20 kWh of losses: 2 %
    (1000.0, [600.0, 350.0], 1.0, 0.05, BalanceVerdict.WITHIN),  # exactly 5 %: not above
    (1000.0, [600.0, 349.0], 1.0, 0.051, BalanceVerdict.DEVIATION),  # 5.1 % short
    (1000.0, [600.0, 460.0], 1.0, -0.06, BalanceVerdict.DEVIATION),  # sub-meters 6 % above
    (1000.0, [], 1.0, 1.0, BalanceVerdict.DEVIATION),  # sub-meters that sent nothing
    (1000.0, [600.0, 349.0], 0.89, 0.051, BalanceVerdict.INSUFFICIENT_DATA),
    (1000.0, [600.0, 349.0], 0.90, 0.051, BalanceVerdict.DEVIATION),
    (0.0, [0.0, 0.0], 1.0, None, BalanceVerdict.NO_CONSUMPTION),
    (0.0, [5.0], 1.0, None, BalanceVerdict.DEVIATION),  # a dead parent counter
]


@pytest.mark.parametrize(("parent", "children", "completeness", "deviation", "verdict"), BALANCES)
def test_balance_deviation_is_parent_minus_sub_meters_over_parent(
    parent: float,
    children: list[float],
    completeness: float,
    deviation: float | None,
    verdict: BalanceVerdict,
) -> None:
    b = meter_balance(parent, children, tolerance=0.05, completeness=completeness)
    assert b.children == pytest.approx(sum(children))
    assert b.deviation == (None if deviation is None else pytest.approx(deviation))
    assert b.verdict is verdict
    assert b.flagged is (verdict is BalanceVerdict.DEVIATION)


def test_the_tolerance_is_a_parameter() -> None:
    assert meter_balance(1000.0, [900.0], tolerance=0.2).verdict is BalanceVerdict.WITHIN
    assert meter_balance(1000.0, [900.0], tolerance=0.05).verdict is BalanceVerdict.DEVIATION


# daily figures, the month, consistent?
MONTHS = [
    ([100.0] * 30, 3000.0, True),
    ([0.1] * 30, 3.0, True),  # 0.1 * 30 is 3.0000000000000013 in floating point
    ([100.0] * 30, 3000.0004, True),  # under half the rounding step
    ([100.0] * 30, 3000.001, False),  # a whole step: a day is missing something
    ([100.0] * 29, 3000.0, False),  # a day missing from the daily rollups
    ([], 0.0, True),
]


@pytest.mark.parametrize(("days", "month", "consistent"), MONTHS)
def test_the_days_of_a_month_add_up_to_the_month_within_rounding(
    days: list[float], month: float, consistent: bool
) -> None:
    check = days_against_month(days, month)
    assert check.consistent is consistent
    assert check.difference == pytest.approx(sum(days) - month)

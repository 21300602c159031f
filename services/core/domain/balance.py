"""Meter balance and the days-against-month check: plain arithmetic over energy figures.

Meter balance: a boundary meter and the sum of its declared sub-meters (registry ``sub_of``) over
the same local day should agree within a few per cent (line losses, small unmetered loads).
deviation = (parent − Σ sub-meters) ÷ parent; above the tolerance either way (sub-meters short of
the parent: an unmetered load or a meter under-reading; above it: a wrong multiplier or a double
registration) it is a data-quality finding. The 5 % default is the platform's setting
(``ENERGYMON_QUALITY_BALANCE_TOLERANCE``), not a figure from a standard. A balance resting on
less than the completeness threshold on either side is "insufficient data", not a finding.

Days against the month: the daily rollups of a local month must add up to the month computed from
the 15-minute rollups, to within the reports' rounding (0.001 of the unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

ROUNDING = 0.001  # the reports' precision for energy (kWh, m3): half of it either way is noise


class BalanceVerdict(StrEnum):
    WITHIN = "within"
    DEVIATION = "deviation"
    INSUFFICIENT_DATA = "insufficient_data"
    NO_CONSUMPTION = "no_consumption"  # neither side used anything: nothing to compare


@dataclass(frozen=True, slots=True)
class Balance:
    parent: float
    children: float  # the sum of the sub-meters
    deviation: float | None  # (parent - children) / parent; None when the parent used nothing
    verdict: BalanceVerdict

    @property
    def flagged(self) -> bool:
        return self.verdict is BalanceVerdict.DEVIATION


def meter_balance(
    parent: float,
    children: Sequence[float],
    *,
    tolerance: float,
    completeness: float = 1.0,
    threshold: float = 0.9,
) -> Balance:
    """Balance of one parent meter against its sub-meters over one period. ``completeness`` is
    the lowest completeness among the points involved; below ``threshold`` there is no verdict.
    A parent that used nothing while its sub-meters did is a deviation without a figure."""
    total = sum(children)
    deviation = (parent - total) / parent if parent != 0 else None
    if completeness < threshold:
        verdict = BalanceVerdict.INSUFFICIENT_DATA
    elif parent == 0:
        verdict = BalanceVerdict.NO_CONSUMPTION if total == 0 else BalanceVerdict.DEVIATION
    elif deviation is not None and abs(deviation) > tolerance:
        verdict = BalanceVerdict.DEVIATION
    else:
        verdict = BalanceVerdict.WITHIN
    return Balance(parent, total, deviation, verdict)


@dataclass(frozen=True, slots=True)
class DaysAgainstMonth:
    days: float  # the sum of the month's daily rollups
    month: float  # the month from the 15-minute rollups
    difference: float  # days - month

    @property
    def consistent(self) -> bool:
        return abs(self.difference) <= ROUNDING / 2 + 1e-9 * abs(self.month)


def days_against_month(days: Sequence[float], month: float) -> DaysAgainstMonth:
    """Sum of a month's days against the month; consistent within half the reports' rounding
    (plus floating-point noise in proportion to the figure)."""
    total = sum(days)
    return DaysAgainstMonth(total, month, total - month)

"""Figures shown to people, rounded to their unit's precision (every API answer, report and
console line), always after summing: totals are computed from unrounded figures and rounded once,
so two answers that sum the same rows agree to the last digit.

- PUE: 0.001 (a ratio of kWh over kWh; limits are stated to 0.01).
- Amounts in a carrier's unit (kWh, m3, t, GJ, kg): 0.001.
- Standard coal: tce to 0.0001 (0.1 kgce); CO2: t to 0.001 (1 kg).
- Shares (completeness, coverage, budget used, year-on-year change): 0.0001, i.e. 0.01 %.
- Intensities (kgce per unit of output, tce per 10^4 CNY): 0.0001; kgce amounts 0.1 (0.0001 tce).

Python's ``round`` (half to even on the binary value) is the one rounding function.
"""

from __future__ import annotations

import math

PUE_DIGITS = 3
AMOUNT_DIGITS = 3
KWH_DIGITS = AMOUNT_DIGITS
TCE_DIGITS = 4
TCO2_DIGITS = 3
SHARE_DIGITS = 4
INTENSITY_DIGITS = 4
KGCE_DIGITS = 1


def amount_digits(unit: str) -> int:
    """Decimals of an amount in ``unit``: tce 4, t CO2 3, any carrier unit 3."""
    return TCE_DIGITS if unit == "tce" else AMOUNT_DIGITS


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` to ``digits`` decimals; None stays None; -0.0 becomes 0.0."""
    if value is None:
        return None
    return round(value, digits) + 0.0


def percent(share: float, *, down: bool = False) -> str:
    """A share as a percentage to 0.1 %: "42.9 %". ``down`` rounds towards zero, for a share
    said to fall short of a threshold (89.97 % is "89.9 % < 90.0 %", never "90.0 % < 90.0 %")."""
    if down:
        return f"{math.floor(round(share * 1000, 6)) / 10:.1f} %"
    return f"{share * 100:.1f} %"

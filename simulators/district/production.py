"""The figures the simulated enterprises submit for a month (pure and seeded): each clinker
plant's output from its month's comprehensive energy and a target unit-product intensity, and
every enterprise's value added at a seeded plausible energy intensity.

The clinker targets place the plants against GB 16780-2021 (cement clinker, kgce/t; the values
come from the quota set, services/core/data/quotas.yaml: 4.2, Table 2): one over its 限定值
(limit), one between its 准入值 (entry value) and its 限定值, one under its 先进值 (advanced
value), and the late one between its 先进值 and its 准入值. The
figures are the district's inventions; only the values they are judged against are the
standard's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.core.domain.quota import QuotaEntry

CLINKER = "clinker"
CLINKER_INDUSTRY = "C30"  # GB/T 4754: non-metallic mineral products (cement among them)
CLINKER_QUOTA = ("GB 16780-2021", "cement_clinker")
LATE_ENTERPRISE = 5  # fleet index of the enterprise that submits late (an episode)
PRICE_BASE_YEAR = 2020
VALUE_ADDED_TCE_PER_10K_CNY = (0.2, 0.8)  # the seeded range of energy per 10^4 CNY of value added


def clinker_targets(entry: QuotaEntry) -> dict[int, float]:
    """Fleet index -> the unit-product energy (kgce/t) its month's output is set to give."""
    limit, entry_value, advanced = entry.limit_value, entry.entry_value, entry.advanced_value
    if limit is None or entry_value is None or advanced is None:
        raise ValueError(f"{entry.standard} {entry.product} lacks its 限定值, 准入值 or 先进值")
    return {
        LATE_ENTERPRISE: round((advanced + entry_value) / 2, 1),  # within the entry value
        13: round(1.3 * limit, 1),  # over the limit
        21: 112.0,  # between the entry value and the limit
        29: 96.0,  # under the advanced value: the district's leader
    }


@dataclass(frozen=True)
class MonthFigures:
    """One enterprise's submission for ``month``: its rows as `energymon production submit`
    reads them."""

    enterprise: str
    month: date
    clinker_t: float | None
    value_added_10k_cny: float

    def rows(self) -> list[tuple[int, Mapping[str, Any]]]:
        period = f"{self.month:%Y-%m}"
        rows: list[Mapping[str, Any]] = [
            {
                "period": period,
                "value_added_10k_cny": self.value_added_10k_cny,
                "price_base_year": PRICE_BASE_YEAR,
            }
        ]
        if self.clinker_t is not None:
            rows.append(
                {"period": period, "product": CLINKER, "output": self.clinker_t, "unit": "t"}
            )
        return list(enumerate(rows, start=1))


def month_figures(
    *,
    seed: int,
    enterprise: str,
    month: date,
    energy_tce: float,
    clinker_kgce: float | None,
    target_kgce_per_t: float | None,
) -> MonthFigures:
    """``enterprise``'s figures for ``month``: value added at a seeded intensity in
    VALUE_ADDED_TCE_PER_10K_CNY of its comprehensive energy ``energy_tce``; clinker output =
    ``clinker_kgce`` / ``target_kgce_per_t`` when both are given."""
    low, high = VALUE_ADDED_TCE_PER_10K_CNY
    intensity = random.Random(f"{seed}:{enterprise}:{month:%Y-%m}").uniform(low, high)
    clinker = None
    if clinker_kgce is not None and target_kgce_per_t:
        clinker = round(clinker_kgce / target_kgce_per_t, 1)
    return MonthFigures(enterprise, month, clinker, round(energy_tce / intensity, 1))

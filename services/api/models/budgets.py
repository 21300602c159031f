"""Energy budgets and how far each is used."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.api.models.common import (
    ENT,
)


class BudgetStatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "site": "plant-1",
                    "year": 2026,
                    "period": "2026",
                    "carrier": "natural_gas",
                    "unit": "m3",
                    "budget": 650000.0,
                    "used": 622960.0,
                    "share_used": 0.9584,
                    "projected_run_rate": 682190.0,
                    "projected_last_year": 671500.0,
                    "state": "projected_overrun",
                    "coverage": 0.9972,
                    "data_sufficient": True,
                    "verdict": "projected_overrun",
                }
            ]
        }
    )

    enterprise: str
    site: str | None
    year: int
    period: str = Field(
        description="The year (2026), or this month (2026-11) of a budget with a monthly split: "
        "the month's allocation, used since the first, projected to the month's end"
    )
    carrier: str | None = Field(description="None: comprehensive energy in tce")
    unit: str
    budget: float
    used: float
    share_used: float
    projected_run_rate: float | None = Field(description="Used + recent daily use x days left")
    projected_last_year: float | None = Field(description="Used / last year's share by this date")
    state: str = Field(description="ok, warning, projected_overrun or exceeded")
    coverage: float | None = Field(
        None,
        description="Completeness of the budget's points (measured share of their expected "
        "15-minute periods) to date and over the run-rate window, the lower; to 0.0001",
    )
    data_sufficient: bool = Field(
        True, description="coverage reaches ENERGYMON_MIN_COMPLETENESS (90 %)"
    )
    verdict: str = Field(
        "",
        description="exceeded, projected_overrun, warning, within, or insufficient_data (the "
        "figures rest on too little data; an exceeded budget stays exceeded)",
    )

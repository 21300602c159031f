"""Consumption by period and carrier."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ConsumptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026-10-01T00:00:00+08:00",
                    "carrier": "electricity",
                    "quantity": "energy_import_kwh",
                    "unit": "kWh",
                    "amount": 71552.0,
                    "completeness": 1.0,
                    "estimated": False,
                }
            ]
        }
    )

    period: datetime = Field(description="Local start of the period")
    carrier: str
    quantity: str
    unit: str
    amount: float
    completeness: float = Field(description="Readings present / expected, 0-1")
    estimated: bool = Field(description="Part of the amount was spread across a data gap")

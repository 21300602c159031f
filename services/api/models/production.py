"""Production and economic figures: entries, submissions, history, locks and missing months."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.api.models.common import ENT

ROW_EXAMPLES: list[Any] = [
    [
        {"period": "2026-11", "product": "steel", "output": 1250.5, "unit": "t"},
        {"period": "2026-11-05", "product": "steel", "output": 41.2, "unit": "t"},
        {
            "period": "2026-11",
            "value_added_10k_cny": 830.0,
            "gross_output_10k_cny": 2400.0,
            "price_base_year": 2020,
            "comment": "as reported to the statistics bureau",
        },
    ]
]


class ProductionEntryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "product": "steel",
                    "kind": "output",
                    "period": "month",
                    "period_start": "2026-11-01",
                    "value": 1310.0,
                    "unit": "t",
                    "price_base_year": None,
                    "revision": 2,
                    "entered_by": "officer",
                    "entered_at": "2026-12-03T10:15:00+08:00",
                    "comment": "weighbridge recount",
                }
            ]
        }
    )

    enterprise: str
    product: str | None = Field(description="the product of an output; null for economic figures")
    kind: str = Field(description="output, value_added or gross_output")
    period: str = Field(description="month or day")
    period_start: date = Field(description="the local day, or the 1st of the month")
    value: float
    unit: str = Field(description="the product's unit, or 10^4 CNY")
    price_base_year: int | None = Field(None, description="at comparable prices of this year")
    revision: int = Field(description="1 when first entered, + 1 per revision")
    entered_by: str
    entered_at: datetime
    comment: str | None


class SubmissionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"created": 2, "revised": 1, "unchanged": 0, "entries": []}]
        }
    )

    created: int
    revised: int = Field(description="figures whose value changed (revision + 1)")
    unchanged: int = Field(description="figures entered again with the same value")
    entries: list[ProductionEntryOut] = Field(description="the submitted figures as now stored")


class ProductionChangeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "action": "revised",
                    "month": "2026-11",
                    "product": "steel",
                    "kind": "output",
                    "period": "month",
                    "period_start": "2026-11-01",
                    "old_value": 1250.5,
                    "new_value": 1310.0,
                    "unit": "t",
                    "changed_by": "officer",
                    "changed_at": "2026-12-03T10:15:00+08:00",
                    "reason": "weighbridge recount",
                }
            ]
        }
    )

    action: str = Field(description="created, revised, locked or unlocked")
    month: str = Field(description="YYYY-MM")
    product: str | None
    kind: str | None = Field(description="null for a lock change")
    period: str | None
    period_start: date | None
    old_value: float | None
    new_value: float | None
    unit: str | None
    changed_by: str
    changed_at: datetime
    reason: str | None


class LockIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "reviewed with the plant"}]}
    )

    reason: str = Field(min_length=1, max_length=2000)


class LockOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "month": "2026-11",
                    "locked": True,
                    "locked_by": "officer",
                    "locked_at": "2026-12-12T09:00:00+08:00",
                    "reason": "reviewed with the plant",
                }
            ]
        }
    )

    enterprise: str
    month: str
    locked: bool = Field(description="true after a lock, false after an unlock")
    locked_by: str
    locked_at: datetime
    reason: str | None = Field(description="the lock's reason")


class MissingOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "name": "Xiqing Precision Castings Co.",
                    "town": "Zhangjiawo",
                    "products": ["castings"],
                    "value_added": True,
                }
            ]
        }
    )

    enterprise: str
    name: str
    town: str
    products: list[str] = Field(description="active products without the month's output")
    value_added: bool = Field(description="true when the month's value added is missing")


class MissingReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2026-11",
                    "due": "2026-12-10",
                    "overdue": True,
                    "enterprises": MissingOut.model_config["json_schema_extra"]["examples"],  # type: ignore[index]
                }
            ]
        }
    )

    month: str
    due: date = Field(description="the day of the next month the figures were due by")
    overdue: bool = Field(description="false before the due day has passed: nothing is missing yet")
    enterprises: list[MissingOut]

"""Alerts, their history and the actions officers take on them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from services.api.models.common import (
    ENT,
)

ALERT_EXAMPLE: JsonDict = {
    "id": 4,
    "rule": "pue_over_limit",
    "subject_type": "site",
    "subject": f"{ENT}/dc-1",
    "enterprise": ENT,
    "window": "ytd",
    "severity": "critical",
    "state": "open",
    "title": f"PUE 1.310 of {ENT}/dc-1 above its limit 1.25 (ytd)",
    "value": 1.31,
    "limit": 1.25,
    "opened_at": "2026-11-29T22:06:14+08:00",
    "updated_at": "2026-11-29T22:06:14+08:00",
}


ALERT_OPENED: JsonDict = {
    "at": "2026-11-29T22:06:14+08:00",
    "actor": "system",
    "action": "opened",
    "detail": {"limit": 1.25, "value": 1.31},
}


ALERT_ACKNOWLEDGED: JsonDict = {
    "at": "2026-11-29T22:31:47+08:00",
    "actor": "wang.officer",
    "action": "acknowledged",
    "detail": {"comment": "chiller 2 fault, repair booked"},
}


class AlertOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_EXAMPLE]})

    id: int
    rule: str
    subject_type: str
    subject: str
    enterprise: str | None
    window: str
    severity: str
    state: str
    title: str
    value: float | None
    limit: float | None
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_comment: str | None = None


class AlertEventOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ALERT_ACKNOWLEDGED]})

    at: datetime
    actor: str
    action: str
    detail: dict[str, object]


class AlertDetailOut(AlertOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **ALERT_EXAMPLE,
                    "state": "acknowledged",
                    "updated_at": "2026-11-29T22:31:47+08:00",
                    "acknowledged_at": "2026-11-29T22:31:47+08:00",
                    "acknowledged_by": "wang.officer",
                    "evidence": {
                        "dc_class": "new_large",
                        "limit": 1.25,
                        "facility_kwh": 8373550.08,
                        "it_kwh": 6392022.96,
                        "facility_coverage": 1.0,
                        "it_coverage": 1.0,
                        "window_start": "2026-01-01T00:00:00+08:00",
                        "window_end": "2026-11-29T22:06:14+08:00",
                    },
                    "history": [ALERT_OPENED, ALERT_ACKNOWLEDGED],
                }
            ]
        }
    )

    evidence: dict[str, object] = Field(description="The figures the alert was computed from")
    history: list[AlertEventOut]


class AlertActionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": "chiller 2 fault, repair booked"}]}
    )

    comment: str | None = Field(None, max_length=2000)


class AlertResolveIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"comment": "chiller 2 repaired on 2026-12-02; PUE 1.22 since (mtd)"}]
        }
    )

    comment: str = Field(min_length=1, max_length=2000)

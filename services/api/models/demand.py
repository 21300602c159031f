"""Peak demand, demand-response events and their results."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from services.api.models.common import (
    ENT,
)


class PeakDemandOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "peak_kw": 3498.6,
                    "at": "2026-10-01T07:00:00+08:00",
                }
            ]
        }
    )

    enterprise: str
    start: datetime
    end: datetime
    peak_kw: float | None = Field(description="Highest 15-minute average power (kWh x 4)")
    at: datetime | None = Field(description="Local start of the peak's 15 minutes")


DR_EVENT_EXAMPLE: JsonDict = {
    "name": "Afternoon peak 2026-11-25",
    "start": "2026-11-25T14:00:00+08:00",
    "end": "2026-11-25T16:00:00+08:00",
    "note": "State Grid Tianjin request, 20 % target",
}


class DemandResponseIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DR_EVENT_EXAMPLE]})

    name: str = Field(min_length=1, max_length=200)
    start: datetime = Field(description="Aligned to 15 minutes")
    end: datetime
    note: str | None = Field(None, max_length=2000)


class DemandResponseOut(DemandResponseIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **DR_EVENT_EXAMPLE,
                    "id": 1,
                    "created_by": "wang.officer",
                    "created_at": "2026-11-29T22:07:04+08:00",
                }
            ]
        }
    )

    id: int
    created_by: str
    created_at: datetime


class DemandResponseResultOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "name": "Xiqing Precision Castings Co.",
                    "baseline_kw": 3412.6,
                    "actual_kw": 2452.6,
                    "reduction_kw": 960.0,
                    "share_of_peak": 0.2744,
                    "peak_kw": 3498.6,
                }
            ]
        }
    )

    enterprise: str
    name: str
    baseline_kw: float | None = Field(description="Mean of the same slots on 5 similar days")
    actual_kw: float | None
    reduction_kw: float | None
    share_of_peak: float | None = Field(description="Reduction / the enterprise's peak demand")
    peak_kw: float | None = Field(description="Peak demand over the 30 days before the event")

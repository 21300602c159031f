"""A data centre's PUE over a window, against its limit."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.api.models.common import (
    ENT,
)


class PueOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "site": "dc-1",
                    "window": "ytd",
                    "start": "2026-01-01T00:00:00+08:00",
                    "end": "2026-11-29T22:06:41+08:00",
                    "status": "ok",
                    "pue": 1.31,
                    "limit": 1.25,
                    "over_limit": True,
                    "facility_kwh": 8373550.08,
                    "it_kwh": 6392022.96,
                    "facility_coverage": 1.0,
                    "it_coverage": 1.0,
                }
            ]
        }
    )

    enterprise: str
    site: str
    window: str
    start: datetime
    end: datetime
    status: str = Field(description="ok, insufficient_data (coverage below 90 %) or no_it_load")
    pue: float | None
    limit: float | None
    over_limit: bool | None
    facility_kwh: float
    it_kwh: float
    facility_coverage: float
    it_coverage: float

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
                    "verdict": "over",
                    "verdict_text": "over the limit (1.310 > 1.25)",
                    "threshold": 0.9,
                    "facility_estimated": 0.0,
                    "it_estimated": 0.0,
                }
            ]
        }
    )

    enterprise: str
    site: str
    window: str
    start: datetime
    end: datetime
    status: str = Field(
        description="Computation status: ok, insufficient_data (a side's coverage below the "
        "threshold) or no_it_load. Not a verdict: see `verdict`."
    )
    pue: float | None = Field(description="To 0.001; null without sufficient data")
    limit: float | None
    over_limit: bool | None
    facility_kwh: float = Field(description="To 0.001 kWh")
    it_kwh: float = Field(description="To 0.001 kWh")
    facility_coverage: float = Field(
        description="Measured share of the facility side's expected 15-minute (or the meter's "
        "own) periods, to 0.0001"
    )
    it_coverage: float = Field(description="The same for the IT side")
    verdict: str = Field(
        "",
        description="over, within, insufficient_data, no_it_load or no_limit",
    )
    verdict_text: str = Field(
        "", description='The verdict in words, e.g. "insufficient data (IT side 43% < 90%)"'
    )
    threshold: float = Field(0.9, description="Coverage below which there is no PUE")
    facility_estimated: float = Field(0.0, description="Gap-filled share of the facility side")
    it_estimated: float = Field(0.0, description="Gap-filled share of the IT side")

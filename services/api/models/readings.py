"""Raw readings of one point, a page at a time."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from services.api.models.common import (
    Page,
)

READING_EXAMPLE: JsonDict = {"ts": "2026-11-23T00:15:00+08:00", "value": 172763.12}


class ReadingOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [READING_EXAMPLE]})

    ts: datetime = Field(description="ISO 8601 with the offset of the requested `tz`")
    value: float


class ReadingsPage(Page[ReadingOut]):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "meter": "M-100",
                    "point": "energy_import_kwh",
                    "unit": "kWh",
                    "items": [
                        {"ts": "2026-11-23T00:00:00+08:00", "value": 172760.0},
                        READING_EXAMPLE,
                    ],
                    "next_cursor": "IjIwMjYtMTEtMjJUMTY6MTU6MDArMDA6MDAi",
                }
            ]
        }
    )

    meter: str
    point: str
    unit: str

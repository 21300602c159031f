"""The answer to HTTP ingest: what was stored and what was refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

REJECTION_EXAMPLE: JsonDict = {
    "index": 2,
    "reason": "unknown_point",
    "detail": "meter 'M-100' has no point 'gas_volume_m3'",
}


class IngestRejection(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REJECTION_EXAMPLE]})

    index: int | None = Field(description="Reading index in `readings`; null for the message")
    reason: str
    detail: str


class IngestResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "accepted": 2,
                    "duplicates": 0,
                    "rejected": 1,
                    "rejections": [REJECTION_EXAMPLE],
                }
            ]
        }
    )

    accepted: int = Field(description="Readings newly stored")
    duplicates: int = Field(description="Valid readings that were already stored")
    rejected: int
    rejections: list[IngestRejection]

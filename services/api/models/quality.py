"""The data-quality report: an enterprise's, and the district ranked by quality."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from services.api.models.common import ENT

POINT: JsonDict = {
    "site": "plant-1",
    "meter": "M-100",
    "role": "boundary",
    "quantity": "energy_import_kwh",
    "unit": "kWh",
    "expected_intervals": 96,
    "measured_intervals": 90,
    "estimated_intervals": 6,
    "completeness": 0.9375,
    "estimated_share": 0.0625,
    "last_reading": "2026-11-18T00:00:00+08:00",
    "silent": False,
    "late_readings": 24,
    "worst_delay_s": 5400.0,
    "conflicts": 1,
    "counter_events": {"reset": 1},
    "days_consistent": True,
    "days_difference": 0.0,
}
SITE: JsonDict = {"site": "plant-1", "completeness": 0.9375, "estimated_share": 0.0625}
SILENT: JsonDict = {"site": "plant-1", "meter": "G-1", "since": "2026-11-16T13:45:00+08:00"}
BALANCE: JsonDict = {
    "day": "2026-11-17",
    "site": "plant-1",
    "meter": "M-100",
    "quantity": "energy_import_kwh",
    "unit": "kWh",
    "sub_meters": ["F-1", "F-2"],
    "parent": 7680.0,
    "sub_meters_total": 7200.0,
    "deviation": 0.0625,
    "verdict": "deviation",
    "completeness": 1.0,
}
CONFLICT: JsonDict = {
    "site": "plant-1",
    "meter": "M-100",
    "quantity": "energy_import_kwh",
    "ts": "2026-11-17T10:15:00+08:00",
    "first_value": 120345.5,
    "new_value": 120399.0,
    "source": "mqtt",
    "received_at": "2026-11-17T11:02:13+08:00",
    "first_received_at": "2026-11-17T10:15:04+08:00",
}
DISTRICT_ROW: JsonDict = {
    "rank": 1,
    "enterprise": ENT,
    "name": "Xiqing Precision Castings Co.",
    "town": "Zhangjiawo",
    "completeness": 0.62,
    "estimated_share": 0.05,
    "findings": 31,
    "silent_meters": 1,
    "balance_deviations": 1,
    "inconsistent_points": 0,
    "conflicts": 1,
    "late_readings": 24,
    "counter_events": 1,
    "dead_letters": 3,
}


class QualityPointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [POINT]})

    site: str
    meter: str
    role: str
    quantity: str
    unit: str
    expected_intervals: int | None = Field(description="15-minute intervals expected (counters)")
    measured_intervals: int | None = Field(description="Of those, intervals holding a reading")
    estimated_intervals: int | None = Field(description="Of those, gap-filled intervals only")
    completeness: float | None = Field(description="measured / expected intervals (counters)")
    estimated_share: float | None = Field(description="estimated / expected intervals")
    last_reading: datetime | None = Field(description="Before the period's end (or now)")
    silent: bool = Field(description="No reading for 3 expected intervals before the end")
    late_readings: int = Field(description="Readings received after ENERGYMON_QUALITY_LATE_AFTER_S")
    worst_delay_s: float | None = Field(description="The longest of those delays, seconds")
    conflicts: int = Field(description="Re-sends with another value (the first value is kept)")
    counter_events: dict[str, int] = Field(description="Resets, rollovers, excluded spikes...")
    days_consistent: bool | None = Field(
        description="The daily rollups add up to the period from the 15-minute ones (±0.0005)"
    )
    days_difference: float | None = Field(description="Sum of the days minus the period")


class QualitySiteOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SITE]})

    site: str
    completeness: float
    estimated_share: float


class QualitySilentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SILENT]})

    site: str
    meter: str
    since: datetime | None = Field(description="Its last reading; null: it never reported")


class QualityBalanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [BALANCE]})

    day: str = Field(description="Local day, YYYY-MM-DD")
    site: str
    meter: str = Field(description="The parent meter")
    quantity: str
    unit: str
    sub_meters: list[str]
    parent: float
    sub_meters_total: float
    deviation: float | None = Field(description="(parent - sub-meters) / parent")
    verdict: str = Field(description="within, deviation, insufficient_data or no_consumption")
    completeness: float = Field(description="The lowest completeness of the points that day")


class QualityConflictOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CONFLICT]})

    site: str
    meter: str
    quantity: str
    ts: datetime
    first_value: float = Field(description="The stored value, kept")
    new_value: float = Field(description="The re-sent value, not stored")
    source: str
    received_at: datetime
    first_received_at: datetime


class QualityEnterpriseOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "name": "Xiqing Precision Castings Co.",
                    "town": "Zhangjiawo",
                    "period": "2026-11-17",
                    "start": "2026-11-17T00:00:00+08:00",
                    "end": "2026-11-18T00:00:00+08:00",
                    "completeness": 0.9375,
                    "estimated_share": 0.0625,
                    "findings": 31,
                    "sites": [SITE],
                    "points": [POINT],
                    "silent_meters": [SILENT],
                    "dead_letters": {"unknown_meter": 3},
                    "balances": [BALANCE],
                    "conflicts": [CONFLICT],
                }
            ]
        }
    )

    enterprise: str
    name: str
    town: str
    period: str = Field(description="The local day (YYYY-MM-DD) or month (YYYY-MM)")
    start: datetime
    end: datetime
    completeness: float = Field(description="Measured / expected 15-minute intervals, counters")
    estimated_share: float
    findings: int = Field(description="Silent meters, deviations, conflicts, late readings...")
    sites: list[QualitySiteOut]
    points: list[QualityPointOut]
    silent_meters: list[QualitySilentOut]
    dead_letters: dict[str, int] = Field(description="Dead letters naming it, by reason")
    balances: list[QualityBalanceOut] = Field(description="Each parent meter, each day")
    conflicts: list[QualityConflictOut]


class QualityDistrictRowOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DISTRICT_ROW]})

    rank: int = Field(description="1 = the worst quality")
    enterprise: str
    name: str
    town: str
    completeness: float
    estimated_share: float
    findings: int
    silent_meters: int
    balance_deviations: int = Field(description="Parent-meter days above the tolerance")
    inconsistent_points: int = Field(description="Points whose days do not add up")
    conflicts: int
    late_readings: int
    counter_events: int
    dead_letters: int


class QualityDistrictOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026-11",
                    "start": "2026-11-01T00:00:00+08:00",
                    "end": "2026-12-01T00:00:00+08:00",
                    "completeness_threshold": 0.9,
                    "balance_tolerance": 0.05,
                    "enterprises": [DISTRICT_ROW],
                    "unattributed_dead_letters": {"unknown_enterprise": 12},
                }
            ]
        }
    )

    period: str
    start: datetime
    end: datetime
    completeness_threshold: float
    balance_tolerance: float
    enterprises: list[QualityDistrictRowOut] = Field(description="Worst quality first")
    unattributed_dead_letters: dict[str, int] = Field(
        description="Dead letters naming no registered enterprise, by reason"
    )

"""Wire models of the API (responses), with examples for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class MeOut(BaseModel):
    username: str
    role: str
    enterprise: str | None = None
    gateway: str | None = None


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "91120111MA05K8XX3E",
                    "name": "Xiqing Precision Castings Co.",
                    "industry": "C33",
                    "town": "Zhangjiawo",
                    "grid_region": "north",
                    "active": True,
                }
            ]
        }
    )

    code: str = Field(description="Unified social credit code")
    name: str
    industry: str = Field(description="GB/T 4754 industry code")
    town: str
    grid_region: str
    active: bool


class SiteOut(BaseModel):
    code: str
    name: str
    kind: str
    dc_class: str | None = None
    pue_limit: float | None = Field(None, description="Explicit limit; else the class's limit")
    pue_category: str | None = None
    active: bool


class GatewayOut(BaseModel):
    code: str
    name: str | None = None
    status: str | None = Field(None, description="Last MQTT status: online / offline")
    status_at: datetime | None = None
    last_seen_at: datetime | None = None
    active: bool


class PointOut(BaseModel):
    quantity: str
    unit: str
    kind: str
    active: bool


class MeterOut(BaseModel):
    code: str
    site: str
    carrier: str
    protocol: str
    role: str
    multiplier: float
    serial: str | None = None
    gateway: str | None = None
    active: bool
    points: list[PointOut]


class ReadingOut(BaseModel):
    ts: datetime = Field(description="ISO 8601 with the offset of the requested `tz`")
    value: float


class ReadingsPage(Page[ReadingOut]):
    meter: str
    point: str
    unit: str


class IngestRejection(BaseModel):
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
                    "rejections": [
                        {
                            "index": 2,
                            "reason": "unknown_point",
                            "detail": "meter 'M-100' has no point 'gas_volume_m3'",
                        }
                    ],
                }
            ]
        }
    )

    accepted: int = Field(description="Readings newly stored")
    duplicates: int = Field(description="Valid readings that were already stored")
    rejected: int
    rejections: list[IngestRejection]


class RegistryApplyOut(BaseModel):
    enterprises: int
    changes: dict[str, int] = Field(description="`table outcome` -> rows")


class AlertOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "rule": "pue_over_limit",
                    "subject_type": "site",
                    "subject": "91120111MA05K8XX3E/dc-1",
                    "enterprise": "91120111MA05K8XX3E",
                    "window": "ytd",
                    "severity": "critical",
                    "state": "open",
                    "title": "PUE 1.31 above the limit 1.25 (year to date)",
                    "value": 1.31,
                    "limit": 1.25,
                    "opened_at": "2026-11-24T09:00:00+08:00",
                    "updated_at": "2026-11-24T10:00:00+08:00",
                }
            ]
        }
    )

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
    at: datetime
    actor: str
    action: str
    detail: dict[str, object]


class AlertDetailOut(AlertOut):
    evidence: dict[str, object] = Field(description="The figures the alert was computed from")
    history: list[AlertEventOut]


class AlertActionIn(BaseModel):
    comment: str | None = Field(None, max_length=2000)


class AlertResolveIn(BaseModel):
    comment: str = Field(min_length=1, max_length=2000)


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    instance: str


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer with."""
    return {
        code: {"model": ProblemOut, "content": {"application/problem+json": {}}} for code in codes
    }


STANDARD_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503)


class ConsumptionOut(BaseModel):
    period: datetime = Field(description="Local start of the period")
    carrier: str
    quantity: str
    unit: str
    amount: float
    completeness: float = Field(description="Readings present / expected, 0-1")
    estimated: bool = Field(description="Part of the amount was spread across a data gap")


class PueOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": "91120111MA05K8XX3E",
                    "site": "dc-1",
                    "window": "ytd",
                    "start": "2026-01-01T00:00:00+08:00",
                    "end": "2026-11-24T12:00:00+08:00",
                    "status": "ok",
                    "pue": 1.31,
                    "limit": 1.25,
                    "over_limit": True,
                    "facility_kwh": 1310.0,
                    "it_kwh": 1000.0,
                    "facility_coverage": 0.97,
                    "it_coverage": 0.98,
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


class CarrierEnergyOut(BaseModel):
    carrier: str
    unit: str
    amount: float = Field(description="In `unit`, boundary meters only, multiplier applied")
    region: str = Field(description="Grid region whose electricity CO2 factor applied")
    tce: float | None = Field(description="Standard coal, tonnes (None for water)")
    tco2: float | None
    coal_factor: float | None = Field(description="kgce per factor unit")
    coal_factor_unit: str | None
    coal_source: str | None
    co2_factor: float | None = Field(description="tCO2 per factor unit")
    co2_factor_unit: str | None
    co2_source: str | None
    uncertain: bool = Field(description="A factor is a default to replace before official use")
    note: str = ""


class EnergyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scope": "enterprise 91120111MA05K8XX3E",
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "method": "equivalent",
                    "total_tce": 122.9,
                    "total_tco2": 636.1,
                    "carriers": [
                        {
                            "carrier": "electricity",
                            "unit": "kWh",
                            "amount": 1000000.0,
                            "region": "north",
                            "tce": 122.9,
                            "tco2": 636.1,
                            "coal_factor": 0.1229,
                            "coal_factor_unit": "kWh",
                            "coal_source": "GB/T 2589-2020 Annex A, electricity equivalent value",
                            "co2_factor": 0.6361,
                            "co2_factor_unit": "MWh",
                            "co2_source": "MEE/NBS 2023 North China regional grid factor",
                            "uncertain": False,
                            "note": "",
                        }
                    ],
                }
            ]
        }
    )

    scope: str
    start: datetime
    end: datetime
    method: str = Field(description="Electricity to standard coal: equivalent or equal value")
    total_tce: float
    total_tco2: float
    carriers: list[CarrierEnergyOut]


class BudgetStatusOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": "91120111MA05K8XX3E",
                    "site": None,
                    "year": 2026,
                    "carrier": None,
                    "unit": "tce",
                    "budget": 12000.0,
                    "used": 10800.0,
                    "share_used": 0.9,
                    "projected_run_rate": 12900.0,
                    "projected_last_year": 12650.0,
                    "state": "projected_overrun",
                }
            ]
        }
    )

    enterprise: str
    site: str | None
    year: int
    carrier: str | None = Field(description="None: comprehensive energy in tce")
    unit: str
    budget: float
    used: float
    share_used: float
    projected_run_rate: float | None = Field(description="Used + recent daily use x days left")
    projected_last_year: float | None = Field(description="Used / last year's share by this date")
    state: str = Field(description="ok, warning, projected_overrun or exceeded")


class PeakDemandOut(BaseModel):
    enterprise: str
    start: datetime
    end: datetime
    peak_kw: float | None = Field(description="Highest 15-minute average power (kWh x 4)")
    at: datetime | None = Field(description="Local start of the peak's 15 minutes")


class DemandResponseIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Summer peak 2026-07-28",
                    "start": "2026-07-28T14:00:00+08:00",
                    "end": "2026-07-28T16:00:00+08:00",
                    "note": "State Grid Tianjin request, 20 % target",
                }
            ]
        }
    )

    name: str = Field(min_length=1, max_length=200)
    start: datetime = Field(description="Aligned to 15 minutes")
    end: datetime
    note: str | None = Field(None, max_length=2000)


class DemandResponseOut(DemandResponseIn):
    id: int
    created_by: str
    created_at: datetime


class DemandResponseResultOut(BaseModel):
    enterprise: str
    name: str
    baseline_kw: float | None = Field(description="Mean of the same slots on 5 similar days")
    actual_kw: float | None
    reduction_kw: float | None
    share_of_peak: float | None = Field(description="Reduction / the enterprise's peak demand")
    peak_kw: float | None = Field(description="Peak demand over the 30 days before the event")


class ReportCarrierOut(BaseModel):
    carrier: str
    unit: str
    amount: float
    completeness: float
    estimated: bool
    tce: float | None
    tco2: float | None
    coal_source: str | None
    co2_source: str | None


class ReportBudgetOut(BaseModel):
    site: str | None
    carrier: str | None
    unit: str
    budget: float
    used: float = Field(description="Used in the budget year up to the end of the month")
    share_used: float
    projected: float | None = Field(description="The higher of the two year-end projections")
    state: str


class ReportDataCentreOut(BaseModel):
    enterprise: str
    site: str
    dc_class: str | None
    limit: float | None
    pue: float | None = Field(description="The month's PUE; None below 90 % coverage")
    status: str
    facility_kwh: float
    it_kwh: float
    coverage: float
    over_limit: bool | None


class EnterpriseReportOut(BaseModel):
    enterprise: str
    name: str
    town: str
    industry: str
    grid_region: str
    month: str = Field(description="YYYY-MM, calendar month in the platform's zone")
    start: datetime
    end: datetime
    method: str
    total_tce: float
    total_tco2: float
    completeness: float | None = Field(description="Readings present / expected, every counter")
    carriers: list[ReportCarrierOut]
    budgets: list[ReportBudgetOut]
    data_centres: list[ReportDataCentreOut]


class DistrictEnterpriseOut(BaseModel):
    enterprise: str
    name: str
    town: str
    industry: str
    electricity_kwh: float
    tce: float
    tco2: float
    budget_share_used: float | None = Field(description="The highest share of its budgets")
    budget_state: str | None = Field(description="The most severe state of its budgets")
    data_centres_over_limit: int
    completeness: float | None


class DistrictTownOut(BaseModel):
    town: str
    enterprises: int
    electricity_kwh: float
    tce: float
    tco2: float


class DistrictReportOut(BaseModel):
    month: str
    start: datetime
    end: datetime
    method: str
    total_tce: float
    total_tco2: float
    enterprises: list[DistrictEnterpriseOut]
    towns: list[DistrictTownOut]
    data_centres: list[ReportDataCentreOut]
    sources: list[str] = Field(description="Every conversion factor source the figures used")

"""Wire models of the API (requests and responses), with examples for the OpenAPI document.

The examples describe one small Xiqing district in October and November 2026 and agree with each
other: electricity converts at 0.1229 kgce/kWh (equivalent value) and 0.6361 tCO2/MWh (North
China grid), natural gas at 1.2143 kgce/m3 and 0.00216 tCO2/m3. FastAPI drops ``None`` values
from examples when it renders the document, so an example gives a value to every required field.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict, JsonValue

T = TypeVar("T")

ENT = "91120111MA05K8XX3E"
COAL_ELECTRICITY = "GB/T 2589-2020 Annex A, electricity equivalent value (当量值), 3600 kJ/kWh"
COAL_GAS = "GB/T 2589-2020 Annex A, natural gas (gas field) 35 544 kJ/m3"
CO2_NORTH = (
    "MEE/NBS 2023 North China regional grid factor (Beijing, Tianjin, Hebei, Shanxi, "
    "Shandong, Inner Mongolia West); used for later years until replaced"
)
CO2_GAS = (
    "about 2.16 tCO2 per 10^3 m3 (DOMAIN.md: verify against the enterprise's measured "
    "calorific value and carbon content)"
)


def _examples(model: Any) -> list[Any]:
    extra = getattr(model, "model_config", {}).get("json_schema_extra")
    return list(extra.get("examples", [])) if isinstance(extra, dict) else []


def _page_examples(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page of ``Page[Model]`` shows the item model's first example and the cursor after it
    (base64url of the item's sort key: an alert's id, an enterprise's code)."""
    item = get_args(cls.model_fields["items"].annotation)
    examples = _examples(item[0]) if item else []
    if examples:
        key = examples[0].get("id", examples[0].get("code"))
        cursor = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
        schema["examples"] = [{"items": examples[:1], "next_cursor": cursor}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_examples)

    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page.")


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
                    "eyJzdWIiOiIxIiwibmFtZSI6Indhbmcub2ZmaWNlciIsInJvbGUiOiJvZmZpY2VyIn0."
                    "c2lnbmF0dXJlLW9taXR0ZWQ",
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the token expires.")


class MeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "castings", "role": "enterprise", "enterprise": ENT}]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "dc-1",
                    "name": "Zhangjiawo data centre",
                    "kind": "data_centre",
                    "dc_class": "new_large",
                    "pue_limit": 1.25,
                    "pue_category": "PUE2",
                    "active": True,
                }
            ]
        }
    )

    code: str
    name: str
    kind: str
    dc_class: str | None = None
    pue_limit: float | None = Field(None, description="Explicit limit; else the class's limit")
    pue_category: str | None = None
    active: bool


class GatewayOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "gw-01",
                    "name": "Casting hall",
                    "status": "online",
                    "status_at": "2026-11-29T08:02:11+08:00",
                    "last_seen_at": "2026-11-29T22:15:04+08:00",
                    "active": True,
                }
            ]
        }
    )

    code: str
    name: str | None = None
    status: str | None = Field(None, description="Last MQTT status: online / offline")
    status_at: datetime | None = None
    last_seen_at: datetime | None = None
    active: bool


POINT_EXAMPLE: JsonDict = {
    "quantity": "energy_import_kwh",
    "unit": "kWh",
    "kind": "cumulative",
    "active": True,
}


class PointOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [POINT_EXAMPLE]})

    quantity: str
    unit: str
    kind: str
    active: bool


class MeterOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "M-100",
                    "site": "plant-1",
                    "carrier": "electricity",
                    "protocol": "mqtt",
                    "role": "boundary",
                    "multiplier": 80.0,
                    "serial": "ACR-2025-004417",
                    "gateway": "gw-01",
                    "active": True,
                    "points": [POINT_EXAMPLE],
                }
            ]
        }
    )

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


class RegistryApplyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprises": 3,
                    "changes": {
                        "budgets created": 4,
                        "enterprises created": 3,
                        "gateways created": 1,
                        "meters created": 7,
                        "points created": 7,
                        "sites created": 4,
                    },
                }
            ]
        }
    )

    enterprises: int
    changes: dict[str, int] = Field(description="`table outcome` -> rows")


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


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://energymon.dev/problems/not-found",
                    "title": "not found",
                    "status": 404,
                    "detail": "no enterprise 91120111MA06L2QW8F",
                    "instance": "/api/v1/enterprises/91120111MA06L2QW8F",
                }
            ]
        }
    )

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


CARRIER_ELECTRICITY: JsonDict = {
    "carrier": "electricity",
    "unit": "kWh",
    "amount": 2016512.0,
    "region": "north",
    "tce": 247.8293,
    "tco2": 1282.7033,
    "coal_factor": 0.1229,
    "coal_factor_unit": "kWh",
    "coal_source": COAL_ELECTRICITY,
    "co2_factor": 0.6361,
    "co2_factor_unit": "MWh",
    "co2_source": CO2_NORTH,
    "uncertain": False,
    "note": "",
}
CARRIER_GAS: JsonDict = {
    "carrier": "natural_gas",
    "unit": "m3",
    "amount": 57920.0,
    "region": "national",
    "tce": 70.3323,
    "tco2": 125.1072,
    "coal_factor": 1.2143,
    "coal_factor_unit": "m3",
    "coal_source": COAL_GAS,
    "co2_factor": 0.00216,
    "co2_factor_unit": "m3",
    "co2_source": CO2_GAS,
    "uncertain": True,
    "note": "",
}


class CarrierEnergyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [CARRIER_ELECTRICITY, CARRIER_GAS]})

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
                    "scope": f"enterprise {ENT}",
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "method": "equivalent",
                    "total_tce": 318.1616,
                    "total_tco2": 1407.8105,
                    "carriers": [CARRIER_ELECTRICITY, CARRIER_GAS],
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
                    "enterprise": ENT,
                    "site": "plant-1",
                    "year": 2026,
                    "period": "2026",
                    "carrier": "natural_gas",
                    "unit": "m3",
                    "budget": 650000.0,
                    "used": 622960.0,
                    "share_used": 0.9584,
                    "projected_run_rate": 682190.0,
                    "projected_last_year": 671500.0,
                    "state": "projected_overrun",
                }
            ]
        }
    )

    enterprise: str
    site: str | None
    year: int
    period: str = Field(
        description="The year (2026), or this month (2026-11) of a budget with a monthly split: "
        "the month's allocation, used since the first, projected to the month's end"
    )
    carrier: str | None = Field(description="None: comprehensive energy in tce")
    unit: str
    budget: float
    used: float
    share_used: float
    projected_run_rate: float | None = Field(description="Used + recent daily use x days left")
    projected_last_year: float | None = Field(description="Used / last year's share by this date")
    state: str = Field(description="ok, warning, projected_overrun or exceeded")


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


REPORT_ELECTRICITY: JsonDict = {
    "carrier": "electricity",
    "unit": "kWh",
    "amount": 2016512.0,
    "completeness": 1.0,
    "estimated": False,
    "tce": 247.8293,
    "tco2": 1282.7033,
    "coal_source": COAL_ELECTRICITY,
    "co2_source": CO2_NORTH,
}
REPORT_GAS: JsonDict = {
    "carrier": "natural_gas",
    "unit": "m3",
    "amount": 57920.0,
    "completeness": 1.0,
    "estimated": False,
    "tce": 70.3323,
    "tco2": 125.1072,
    "coal_source": COAL_GAS,
    "co2_source": CO2_GAS,
}
REPORT_BUDGET: JsonDict = {
    "site": "plant-1",
    "period": "2026",
    "carrier": "natural_gas",
    "unit": "m3",
    "budget": 650000.0,
    "used": 569600.0,
    "share_used": 0.8763,
    "projected": 683900.0,
    "state": "projected_overrun",
}
REPORT_DC_1: JsonDict = {
    "enterprise": ENT,
    "site": "dc-1",
    "dc_class": "new_large",
    "limit": 1.25,
    "pue": 1.31,
    "status": "ok",
    "facility_kwh": 779712.0,
    "it_kwh": 595200.0,
    "coverage": 1.0,
    "over_limit": True,
}
REPORT_DC_A: JsonDict = {
    "enterprise": "91120111MA07C3DN24",
    "site": "dc-a",
    "dc_class": "existing",
    "limit": 1.5,
    "pue": 1.42,
    "status": "ok",
    "facility_kwh": 4225920.0,
    "it_kwh": 2976000.0,
    "coverage": 1.0,
    "over_limit": False,
}


class ReportCarrierOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_ELECTRICITY, REPORT_GAS]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_BUDGET]})

    site: str | None
    period: str = Field(description="The year, or the report's month for a monthly split")
    carrier: str | None
    unit: str
    budget: float
    used: float = Field(description="Used in the period up to the end of the month")
    share_used: float
    projected: float | None = Field(description="The higher of the two year-end projections")
    state: str


class ReportDataCentreOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_DC_1, REPORT_DC_A]})

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enterprise": ENT,
                    "name": "Xiqing Precision Castings Co.",
                    "town": "Zhangjiawo",
                    "industry": "C33",
                    "grid_region": "north",
                    "month": "2026-10",
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "method": "equivalent",
                    "total_tce": 318.1616,
                    "total_tco2": 1407.8105,
                    "completeness": 1.0,
                    "carriers": [REPORT_ELECTRICITY, REPORT_GAS],
                    "budgets": [REPORT_BUDGET],
                    "data_centres": [REPORT_DC_1],
                }
            ]
        }
    )

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


DISTRICT_ENTERPRISES: list[JsonValue] = [
    {
        "enterprise": "91120111MA07C3DN24",
        "name": "Xinkou Cloud Computing Co.",
        "town": "Xinkou",
        "industry": "I65",
        "electricity_kwh": 4225920.0,
        "tce": 519.3656,
        "tco2": 2688.1077,
        "budget_share_used": 0.7836,
        "budget_state": "ok",
        "data_centres_over_limit": 0,
        "completeness": 1.0,
    },
    {
        "enterprise": ENT,
        "name": "Xiqing Precision Castings Co.",
        "town": "Zhangjiawo",
        "industry": "C33",
        "electricity_kwh": 2016512.0,
        "tce": 318.1616,
        "tco2": 1407.8105,
        "budget_share_used": 0.8763,
        "budget_state": "projected_overrun",
        "data_centres_over_limit": 1,
        "completeness": 1.0,
    },
    {
        "enterprise": "91120111MA06L2QW8F",
        "name": "Jingwu Cold Storage Ltd.",
        "town": "Jingwu",
        "industry": "G59",
        "electricity_kwh": 446400.0,
        "tce": 54.8626,
        "tco2": 283.955,
        "budget_share_used": 0.6254,
        "budget_state": "ok",
        "data_centres_over_limit": 0,
        "completeness": 1.0,
    },
]
DISTRICT_TOWNS: list[JsonValue] = [
    {
        "town": "Xinkou",
        "enterprises": 1,
        "electricity_kwh": 4225920.0,
        "tce": 519.3656,
        "tco2": 2688.1077,
    },
    {
        "town": "Zhangjiawo",
        "enterprises": 1,
        "electricity_kwh": 2016512.0,
        "tce": 318.1616,
        "tco2": 1407.8105,
    },
    {
        "town": "Jingwu",
        "enterprises": 1,
        "electricity_kwh": 446400.0,
        "tce": 54.8626,
        "tco2": 283.955,
    },
]


class DistrictEnterpriseOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [DISTRICT_ENTERPRISES[1]]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [DISTRICT_TOWNS[0]]})

    town: str
    enterprises: int
    electricity_kwh: float
    tce: float
    tco2: float


class DistrictReportOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "month": "2026-10",
                    "start": "2026-10-01T00:00:00+08:00",
                    "end": "2026-11-01T00:00:00+08:00",
                    "method": "equivalent",
                    "total_tce": 892.3898,
                    "total_tco2": 4379.8732,
                    "enterprises": DISTRICT_ENTERPRISES,
                    "towns": DISTRICT_TOWNS,
                    "data_centres": [REPORT_DC_1, REPORT_DC_A],
                    "sources": [COAL_ELECTRICITY, COAL_GAS, CO2_NORTH, CO2_GAS],
                }
            ]
        }
    )

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

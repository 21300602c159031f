"""Monthly reports: an enterprise's and the district's."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict, JsonValue

from services.api.models.common import (
    CO2_GAS,
    CO2_NORTH,
    COAL_ELECTRICITY,
    COAL_GAS,
    ENT,
)

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


REPORT_INTENSITY: dict[str, JsonValue] = {
    "subject": "product",
    "code": "clinker",
    "name": "cement clinker",
    "value": 121.4,
    "unit": "kgce/t",
    "energy_tce": 3642.0,
    "method": "equivalent",
    "output": 30000.0,
    "output_unit": "t",
    "completeness": 0.998,
    "verdict": "over_limit",
    "verdict_text": (
        "over the limit (121.4 > 117 kgce/t, GB 16780-2021 4.2, Table 2, grade 3 限定值)"
    ),
    "quota": "GB 16780-2021 4.2, Table 2, grade 3",
    "yoy_change": 0.0456,
    "yoy_text": "up 4.6 % on 2025-11 (116.1 -> 121.4 kgce/t)",
    "reason": "",
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
    estimated_share: float = Field(0.0, description="Gap-filled share of expected periods")


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
    coverage: float | None = Field(None, description="Completeness the figures rest on")
    data_sufficient: bool = True
    verdict: str = Field("", description="As in /budgets/status")


class ReportIntensityOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_INTENSITY]})

    subject: str = Field(description="value_added (the enterprise) or product")
    code: str = Field(description="The product's code; the enterprise's for value added")
    name: str
    value: float | None = Field(description="None: insufficient data (see reason)")
    unit: str = Field(description="e.g. kgce/t, tce/10^4 CNY")
    energy_tce: float
    method: str = Field(description="Electricity at its equivalent or equal value")
    output: float = Field(description="The output or value added divided by")
    output_unit: str
    completeness: float
    verdict: str = Field(description="Products: the quota verdict; '' for value added")
    verdict_text: str
    quota: str = Field(description="The standard and clause judged against")
    yoy_change: float | None = Field(description="Change on the same month last year (+ = rise)")
    yoy_text: str
    reason: str = Field(description="Why the figure is insufficient data; '' when it is not")


class ReportDataCentreOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REPORT_DC_1, REPORT_DC_A]})

    enterprise: str
    site: str
    dc_class: str | None
    limit: float | None
    pue: float | None = Field(description="The month's PUE, to 0.001; None below 90 % coverage")
    status: str
    facility_kwh: float
    it_kwh: float
    coverage: float = Field(description="The lower of the two sides' coverage")
    over_limit: bool | None
    verdict: str = Field("", description="over, within, insufficient_data, no_it_load, no_limit")
    verdict_text: str = Field("", description="The verdict in words")
    facility_coverage: float = 0.0
    it_coverage: float = 0.0


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
    completeness: float | None = Field(
        description="Measured / expected 15-minute (or the meter's own) periods, every counted "
        "point (docs/accounting.md)"
    )
    estimated_share: float | None = Field(None, description="Gap-filled / expected periods")
    carriers: list[ReportCarrierOut]
    budgets: list[ReportBudgetOut]
    data_centres: list[ReportDataCentreOut]
    intensity: list[ReportIntensityOut] = Field(
        default_factory=list,
        description="The month's energy per 10^4 CNY of value added, then each product's "
        "unit-product energy against its quota (docs/intensity.md)",
    )


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

"""Energy intensity: unit-product energy of products against their quotas, energy per 10^4 CNY
of value added, the district aggregate, the rankings and the quota violations
(docs/intensity.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.api.models.common import COAL_ELECTRICITY, ENT

# One example throughout: enterprise A's hot metal, a new plant, takes meter M-100 (x80 CT) in
# November 2026: 230 400 kWh x 0.1229 = 28 316.16 kgce over 70 t = 404.5166 kgce/t, over GB
# 21256-2025's 准入值 of 370 kgce/t; a year earlier 288 000 kWh over 100 t = 353.952 kgce/t.
_CARRIER: dict[str, Any] = {
    "carrier": "electricity",
    "unit": "kWh",
    "amount": 230400.0,
    "factor_kgce": 0.1229,
    "factor_unit": "kWh",
    "source": COAL_ELECTRICITY,
    "kgce": 28316.2,
    "method": "equivalent",
    "uncertain": False,
}
_PRODUCTION: dict[str, Any] = {
    "month": "2026-11",
    "value": 70.0,
    "unit": "t",
    "revision": 2,
    "entered_by": "clerk@example.org",
    "price_base_year": 2020,
}
_COMPLETENESS: dict[str, Any] = {
    "share": 1.0,
    "expected": 2880,
    "measured": 2880,
    "estimated": 0,
    "threshold": 0.9,
}
_FIGURE: dict[str, Any] = {
    "period": "2026-11",
    "value": 404.5166,
    "unit": "kgce/t",
    "status": "ok",
    "reason": "",
    "energy_kgce": 28316.2,
    "energy_tce": 28.3162,
    "method": "equivalent",
    "denominator": 70.0,
    "carriers": [_CARRIER],
    "production": [_PRODUCTION],
    "completeness": _COMPLETENESS,
}
_LAST_YEAR = {
    **_FIGURE,
    "period": "2025-11",
    "value": 353.952,
    "energy_kgce": 35395.2,
    "energy_tce": 35.3952,
    "denominator": 100.0,
    "carriers": [{**_CARRIER, "amount": 288000.0, "kgce": 35395.2}],
    "production": [{**_PRODUCTION, "month": "2025-11", "value": 100.0, "revision": 1}],
}
_YOY: dict[str, Any] = {
    "change": 0.1429,
    "previous": 353.952,
    "text": "up 14.3 % on 2025-11 (354 -> 404.5 kgce/t)",
}
_CLAUSE = "GB 21256-2025 4.3, Table 3, grade 2"
_VERDICT = f"over the entry value (404.517 > 370 kgce/t, {_CLAUSE} 准入值)"
_QUOTA: dict[str, Any] = {
    "verdict": "over_limit",
    "text": _VERDICT,
    "standard": "GB 21256-2025",
    "product": "steel_blast_furnace",
    "unit": "kgce/t",
    "limit_value": 415.0,
    "entry_value": 370.0,
    "advanced_value": 361.0,
    "judged_against": 370.0,
    "against": "entry",
    "clause": _CLAUSE,
    "distance_to_limit": -10.4834,
    "share_of_limit": -0.0253,
    "verified": False,
}
_ATTRIBUTION: dict[str, Any] = {
    "site": "plant-1",
    "meter": "M-100",
    "quantity": "energy_import_kwh",
    "carrier": "electricity",
    "unit": "kWh",
    "share": 1.0,
}
_PRODUCT: dict[str, Any] = {
    "code": "hot-metal",
    "name": "hot metal",
    "unit": "t",
    "plant": "new",
    "attribution": [_ATTRIBUTION],
    "current": _FIGURE,
    "last_year": _LAST_YEAR,
    "yoy": _YOY,
    "quota": _QUOTA,
}
_VA_FIGURE = {**_FIGURE, "value": 0.5663, "unit": "tce/10^4 CNY", "denominator": 50.0}
_VA_LAST = {**_LAST_YEAR, "value": 0.7079, "unit": "tce/10^4 CNY", "denominator": 50.0}
_VALUE_ADDED: dict[str, Any] = {
    "current": {
        **_VA_FIGURE,
        "production": [{**_PRODUCTION, "value": 50.0, "unit": "10^4 CNY", "revision": 1}],
    },
    "last_year": {
        **_VA_LAST,
        "production": [
            {**_PRODUCTION, "month": "2025-11", "value": 50.0, "unit": "10^4 CNY", "revision": 1}
        ],
    },
    "yoy": {
        "change": -0.2,
        "previous": 0.7079,
        "text": "down 20.0 % on 2025-11 (0.7079 -> 0.5663 tce/10^4 CNY)",
    },
}
_RANK: dict[str, Any] = {
    "rank": 1,
    "enterprise": ENT,
    "name": "Xiqing Precision Castings Co.",
    "product": "hot-metal",
    "value": 404.5166,
    "unit": "kgce/t",
    "yoy_change": 0.1429,
    "quota_verdict": "over_limit",
    "share_of_limit": -0.0253,
    "text": _VERDICT,
}


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class CarrierOut(BaseModel):
    model_config = _example(_CARRIER)

    carrier: str
    unit: str
    amount: float = Field(description="Σ amount x attribution share, in `unit`")
    factor_kgce: float = Field(description="kgce per `factor_unit` (GB/T 2589-2020 Annex A)")
    factor_unit: str
    source: str
    kgce: float
    method: str | None = Field(
        None, description="electricity: equivalent (当量值) or equal (等价值); null otherwise"
    )
    uncertain: bool


class ProductionOut(BaseModel):
    model_config = _example(_PRODUCTION)

    month: str = Field(description="YYYY-MM")
    value: float
    unit: str
    revision: int = Field(description="1 on first entry, +1 per re-entry; the value is the latest")
    entered_by: str
    price_base_year: int | None = Field(None, description="value added: its price base year")


class CompletenessOut(BaseModel):
    model_config = _example(_COMPLETENESS)

    share: float = Field(description="measured / expected collection periods of the points")
    expected: int
    measured: int
    estimated: int
    threshold: float


class FigureOut(BaseModel):
    model_config = _example(_FIGURE)

    period: str = Field(description="2026-11, 2026-Q4 or 2026-01..2026-11")
    value: float | None = Field(description="null: insufficient data (see `reason`)")
    unit: str
    status: str = Field(
        description="ok or insufficient_data: a computation status; the verdict is the quota's"
    )
    reason: str = Field(description="why the data are insufficient, in words; empty otherwise")
    energy_kgce: float
    energy_tce: float
    method: str
    denominator: float = Field(description="Σ output (product's unit) or value added (10^4 CNY)")
    carriers: list[CarrierOut]
    production: list[ProductionOut]
    completeness: CompletenessOut


class YoyOut(BaseModel):
    model_config = _example(_YOY)

    change: float | None = Field(description="(this - last year) / last year; + is a rise")
    previous: float | None
    text: str


class QuotaOut(BaseModel):
    model_config = _example(_QUOTA)

    verdict: str = Field(
        description="over_limit, above_entry, within, leader, insufficient_data or no_quota"
    )
    text: str
    standard: str | None
    product: str | None
    unit: str | None
    limit_value: float | None = Field(description="限定值")
    entry_value: float | None = Field(description="准入值")
    advanced_value: float | None = Field(description="先进值")
    judged_against: float | None
    against: str | None = Field(description="limit, entry or advanced")
    clause: str | None = Field(description="the standard's clause and table of `judged_against`")
    distance_to_limit: float | None = Field(description="value - 限定值 (negative: below)")
    share_of_limit: float | None
    verified: bool | None


class AttributionOut(BaseModel):
    model_config = _example(_ATTRIBUTION)

    site: str
    meter: str
    quantity: str
    carrier: str
    unit: str
    share: float


class ProductIntensityOut(BaseModel):
    model_config = _example(_PRODUCT)

    code: str
    name: str
    unit: str
    plant: str = Field(description="existing (judged by the 限定值) or new (by the 准入值)")
    attribution: list[AttributionOut]
    current: FigureOut
    last_year: FigureOut
    yoy: YoyOut
    quota: QuotaOut


class ValueAddedOut(BaseModel):
    model_config = _example(_VALUE_ADDED)

    current: FigureOut
    last_year: FigureOut
    yoy: YoyOut


class EnterpriseIntensityOut(BaseModel):
    model_config = _example(
        {
            "enterprise": ENT,
            "name": "Xiqing Precision Castings Co.",
            "year": 2026,
            "month": 11,
            "period": "month",
            "value_added": _VALUE_ADDED,
            "products": [_PRODUCT],
        }
    )

    enterprise: str
    name: str
    year: int
    month: int
    period: str = Field(description="month, quarter or ytd")
    value_added: ValueAddedOut = Field(description="energy per 10^4 CNY of value added")
    products: list[ProductIntensityOut]


class LeftOutOut(BaseModel):
    model_config = _example(
        {"enterprise": "91120111MA06L2QW8F", "reason": "no value added entered for 2026-11"}
    )

    enterprise: str
    reason: str


class DistrictIntensityOut(BaseModel):
    model_config = _example(
        {
            "period": "2026-11",
            "unit": "tce/10^4 CNY",
            "value": 0.5663,
            "energy_tce": 28.3162,
            "value_added": 50.0,
            "enterprises": 1,
            "insufficient": 1,
            "last_year": 0.7079,
            "compared": 1,
            "decline": 0.2,
            "target_decline": 0.03,
            "target_met": True,
            "text": "declined 20.0 % on last year (1 enterprises like for like): target met "
            "(20.0 % >= 3.0 % decline)",
            "left_out": [
                {"enterprise": "91120111MA06L2QW8F", "reason": "no value added entered for 2026-11"}
            ],
        }
    )

    period: str
    unit: str
    value: float | None = Field(description="Σ tce / Σ value added over enterprises with data")
    energy_tce: float
    value_added: float
    enterprises: int
    insufficient: int
    last_year: float | None = Field(description="over the enterprises with data in both years")
    compared: int
    decline: float | None = Field(description="(last year - this year) / last year, like for like")
    target_decline: float | None = Field(description="ENERGYMON_INTENSITY_TARGET_DECLINE")
    target_met: bool | None
    text: str
    left_out: list[LeftOutOut]


class RankOut(BaseModel):
    model_config = _example(_RANK)

    rank: int | None = Field(None, description="1 = highest; null for rows listed apart")
    enterprise: str
    name: str
    product: str | None
    value: float | None
    unit: str
    yoy_change: float | None
    quota_verdict: str | None
    share_of_limit: float | None
    text: str


class RankingOut(BaseModel):
    model_config = _example(
        {
            "period": "2026-11",
            "by": "quota_distance",
            "ranked": [_RANK],
            "insufficient": [
                {
                    **{k: v for k, v in _RANK.items() if k != "rank"},
                    "enterprise": "91120111MA06L2QW8F",
                    "name": "Jingwu Cold Storage Ltd.",
                    "product": "cold",
                    "value": 8.8488,
                    "quota_verdict": "no_quota",
                    "share_of_limit": 0.0,
                    "text": "no quota for this product",
                }
            ],
        }
    )

    period: str
    by: str = Field(description="intensity, quota_distance or yoy")
    ranked: list[RankOut]
    insufficient: list[RankOut] = Field(description="rows without a figure, with the reason")


class ViolationOut(BaseModel):
    model_config = _example(
        {
            "enterprise": ENT,
            "name": "Xiqing Precision Castings Co.",
            "product": "hot-metal",
            "product_name": "hot metal",
            "plant": "new",
            "period": "2026-11",
            "value": 404.5166,
            "unit": "kgce/t",
            "limit": 370.0,
            "against": "entry",
            "standard": "GB 21256-2025",
            "clause": _CLAUSE,
            "verified": False,
            "text": _VERDICT,
        }
    )

    enterprise: str
    name: str
    product: str
    product_name: str
    plant: str
    period: str
    value: float
    unit: str
    limit: float = Field(description="the value it exceeds: 限定值 (existing) or 准入值 (new)")
    against: str
    standard: str
    clause: str
    verified: bool
    text: str

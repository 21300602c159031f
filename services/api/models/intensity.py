"""Energy intensity: unit-product energy of products against their quotas, energy per 10^4 CNY
of value added, the district aggregate, the rankings and the quota violations
(docs/intensity.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CarrierOut(BaseModel):
    carrier: str
    unit: str
    amount: float = Field(description="Σ amount x attribution share, in `unit`")
    factor_kgce: float = Field(description="kgce per `factor_unit` (GB/T 2589-2020 Annex A)")
    factor_unit: str
    source: str
    kgce: float
    method: str | None = Field(description="electricity: equivalent (当量值) or equal (等价值)")
    uncertain: bool


class ProductionOut(BaseModel):
    month: str = Field(description="YYYY-MM")
    value: float
    unit: str
    revision: int = Field(description="1 on first entry, +1 per re-entry; the value is the latest")
    entered_by: str
    price_base_year: int | None


class CompletenessOut(BaseModel):
    share: float = Field(description="measured / expected collection periods of the points")
    expected: int
    measured: int
    estimated: int
    threshold: float


class FigureOut(BaseModel):
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
    change: float | None = Field(description="(this - last year) / last year; + is a rise")
    previous: float | None
    text: str


class QuotaOut(BaseModel):
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
    site: str
    meter: str
    quantity: str
    carrier: str
    unit: str
    share: float


class ProductIntensityOut(BaseModel):
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
    current: FigureOut
    last_year: FigureOut
    yoy: YoyOut


class EnterpriseIntensityOut(BaseModel):
    enterprise: str
    name: str
    year: int
    month: int
    period: str = Field(description="month, quarter or ytd")
    value_added: ValueAddedOut = Field(description="energy per 10^4 CNY of value added")
    products: list[ProductIntensityOut]


class LeftOutOut(BaseModel):
    enterprise: str
    reason: str


class DistrictIntensityOut(BaseModel):
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
    rank: int | None = Field(description="1 = highest; null for rows listed apart")
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
    period: str
    by: str = Field(description="intensity, quota_distance or yoy")
    ranked: list[RankOut]
    insufficient: list[RankOut] = Field(description="rows without a figure, with the reason")


class ViolationOut(BaseModel):
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

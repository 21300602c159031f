"""The intensity figures as the API's models (services/api/models/intensity.py), rounded once
(services/core/domain/rounding.py)."""

from __future__ import annotations

from collections.abc import Sequence

from services.api.models.intensity import (
    AttributionOut,
    CarrierOut,
    CompletenessOut,
    DistrictIntensityOut,
    EnterpriseIntensityOut,
    FigureOut,
    LeftOutOut,
    ProductIntensityOut,
    ProductionOut,
    QuotaOut,
    RankingOut,
    RankOut,
    ValueAddedOut,
    ViolationOut,
    YoyOut,
)
from services.core.domain.intensity import DistrictIntensity, Intensity, YearOnYear, month_label
from services.core.domain.quota import QuotaEntry, QuotaJudgement
from services.core.domain.rounding import (
    AMOUNT_DIGITS,
    INTENSITY_DIGITS,
    KGCE_DIGITS,
    SHARE_DIGITS,
    TCE_DIGITS,
    rounded,
)
from services.core.store.intensity import EnterpriseIntensity, ProductIntensity
from services.core.store.intensity_ranking import Ranking, RankRow


def figure_out(f: Intensity, threshold: float) -> FigureOut:
    c = f.completeness
    return FigureOut(
        period=f.window.label,
        value=rounded(f.value, INTENSITY_DIGITS),
        unit=f.unit,
        status="ok" if f.sufficient else "insufficient_data",
        reason=f.reason,
        energy_kgce=round(f.energy.kgce, KGCE_DIGITS),
        energy_tce=round(f.energy.tce, TCE_DIGITS),
        method=f.energy.method,
        denominator=round(f.denominator, AMOUNT_DIGITS),
        carriers=[
            CarrierOut(
                carrier=x.carrier,
                unit=x.unit,
                amount=round(x.amount, AMOUNT_DIGITS),
                factor_kgce=x.factor_kgce,
                factor_unit=x.factor_unit,
                source=x.source,
                kgce=round(x.kgce, KGCE_DIGITS),
                method=x.method,
                uncertain=x.uncertain,
            )
            for x in f.energy.carriers
        ],
        production=[
            ProductionOut(
                month=month_label(p.month),
                value=p.value,
                unit=p.unit,
                revision=p.revision,
                entered_by=p.entered_by,
                price_base_year=p.price_base_year,
            )
            for p in f.production
        ],
        completeness=CompletenessOut(
            share=round(c.share, SHARE_DIGITS),
            expected=c.expected,
            measured=c.measured,
            estimated=c.estimated,
            threshold=threshold,
        ),
    )


def yoy_out(y: YearOnYear) -> YoyOut:
    return YoyOut(
        change=rounded(y.change, SHARE_DIGITS),
        previous=rounded(y.previous, INTENSITY_DIGITS),
        text=y.text,
    )


def quota_out(entry: QuotaEntry | None, j: QuotaJudgement) -> QuotaOut:
    return QuotaOut(
        verdict=j.verdict.value,
        text=j.text,
        standard=entry.standard if entry else None,
        product=entry.product if entry else None,
        unit=entry.unit if entry else None,
        limit_value=entry.limit_value if entry else None,
        entry_value=entry.entry_value if entry else None,
        advanced_value=entry.advanced_value if entry else None,
        judged_against=j.judged_against,
        against=j.against.value if j.against else None,
        clause=entry.source(j.against) if entry and j.against else None,
        distance_to_limit=rounded(j.distance_to_limit, INTENSITY_DIGITS),
        share_of_limit=rounded(j.share_of_limit, SHARE_DIGITS),
        verified=entry.verified if entry else None,
    )


def product_out(p: ProductIntensity, threshold: float) -> ProductIntensityOut:
    return ProductIntensityOut(
        code=p.code,
        name=p.name,
        unit=p.unit,
        plant=p.plant,
        attribution=[
            AttributionOut(
                site=a.site,
                meter=a.meter,
                quantity=a.quantity,
                carrier=a.carrier,
                unit=a.unit,
                share=a.share,
            )
            for a in p.attribution
        ],
        current=figure_out(p.current, threshold),
        last_year=figure_out(p.previous, threshold),
        yoy=yoy_out(p.yoy),
        quota=quota_out(p.quota_entry, p.quota),
    )


def enterprise_out(e: EnterpriseIntensity, threshold: float) -> EnterpriseIntensityOut:
    return EnterpriseIntensityOut(
        enterprise=e.code,
        name=e.name,
        year=e.window.year,
        month=e.window.month,
        period=e.window.period.value,
        value_added=ValueAddedOut(
            current=figure_out(e.current, threshold),
            last_year=figure_out(e.previous, threshold),
            yoy=yoy_out(e.yoy),
        ),
        products=[product_out(p, threshold) for p in e.products],
    )


def district_out(
    d: DistrictIntensity, found: Sequence[EnterpriseIntensity]
) -> DistrictIntensityOut:
    return DistrictIntensityOut(
        period=d.window.label,
        unit="tce/10^4 CNY",
        value=rounded(d.value, INTENSITY_DIGITS),
        energy_tce=round(d.energy_tce, TCE_DIGITS),
        value_added=round(d.value_added, AMOUNT_DIGITS),
        enterprises=d.enterprises,
        insufficient=d.insufficient,
        last_year=rounded(d.previous, INTENSITY_DIGITS),
        compared=d.compared,
        decline=rounded(d.decline, SHARE_DIGITS),
        target_decline=d.target_decline,
        target_met=d.target_met,
        text=d.text,
        left_out=[
            LeftOutOut(enterprise=e.code, reason=e.current.reason)
            for e in found
            if not e.current.sufficient
        ],
    )


def _rank_out(r: RankRow, rank: int | None) -> RankOut:
    e, p = r.enterprise, r.product
    figure = p.current if p is not None else e.current
    return RankOut(
        rank=rank,
        enterprise=e.code,
        name=e.name,
        product=p.code if p is not None else None,
        value=rounded(figure.value, INTENSITY_DIGITS),
        unit=figure.unit,
        yoy_change=rounded((p or e).yoy.change, SHARE_DIGITS),
        quota_verdict=p.quota.verdict.value if p is not None else None,
        share_of_limit=rounded(p.quota.share_of_limit, SHARE_DIGITS) if p is not None else None,
        text=r.text,
    )


def ranking_out(r: Ranking, period: str) -> RankingOut:
    return RankingOut(
        period=period,
        by=r.by.value,
        ranked=[_rank_out(row, i) for i, row in enumerate(r.ranked, start=1)],
        insufficient=[_rank_out(row, None) for row in r.apart],
    )


def violation_out(e: EnterpriseIntensity, p: ProductIntensity) -> ViolationOut:
    entry, j = p.quota_entry, p.quota
    assert entry is not None
    assert j.against is not None
    assert p.current.value is not None
    assert j.judged_against is not None
    return ViolationOut(
        enterprise=e.code,
        name=e.name,
        product=p.code,
        product_name=p.name,
        plant=p.plant,
        period=p.current.window.label,
        value=round(p.current.value, INTENSITY_DIGITS),
        unit=p.current.unit,
        limit=j.judged_against,
        against=j.against.value,
        standard=entry.standard,
        clause=entry.source(j.against),
        verified=entry.verified,
        text=j.text,
    )

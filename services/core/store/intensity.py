"""Energy intensity of enterprises and their products over a window, with the same months last
year: unit-product energy per product, energy per 10^4 CNY of value added per enterprise
(arithmetic: services/core/domain/intensity.py; definitions: docs/intensity.md).

Every figure carries what it rests on: the attributed points (meter, share), each carrier's
amount, factor, source and kgce, the production entries (value, unit, revision, who entered
them) and the completeness of the points. One call reads every enterprise asked for in nine
statements whatever their number: enterprises, products, attribution, counted points, the
enterprises' measured heating values, the rollups' zone, the points' service spans, the grouped
monthly sums (services/core/store/monthly.py) and the production entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from services.core.domain.coefficients import ElectricityMethod, FactorSet
from services.core.domain.completeness import DEFAULT_THRESHOLD, Completeness, combined
from services.core.domain.intensity import (
    CarrierMonth,
    Intensity,
    Window,
    YearOnYear,
    comprehensive_energy,
    unit_product_energy,
    value_added_energy,
    year_on_year,
)
from services.core.domain.quota import (
    PlantStatus,
    QuotaEntry,
    QuotaJudgement,
    QuotaSet,
    judge,
)
from services.core.store.factors import enterprise_factors
from services.core.store.intensity_reads import (
    AttributedPoint,
    EnterpriseRow,
    Entries,
    ProductRow,
    attributed_points,
    enterprise_points,
    enterprise_rows,
    monthly_entries,
    product_rows,
)
from services.core.store.monthly import OwnerMonth, owner_months


@dataclass(frozen=True, slots=True)
class ProductIntensity:
    """A product's unit-product energy over the window and the same months last year."""

    enterprise: str
    code: str
    name: str
    unit: str
    plant: str  # existing (judged against the 限定值) | new (against the 准入值)
    quota_standard: str | None
    quota_product: str | None
    attribution: tuple[AttributedPoint, ...]
    current: Intensity
    previous: Intensity
    yoy: YearOnYear
    quota_entry: QuotaEntry | None  # the edition in force in the window's last month
    quota: QuotaJudgement  # the window's figure against it
    id: int  # products.id


@dataclass(frozen=True, slots=True)
class EnterpriseIntensity:
    """An enterprise's energy per 10^4 CNY of value added and its products' unit energy."""

    code: str
    name: str
    town: str
    industry: str
    window: Window
    method: str
    points: tuple[AttributedPoint, ...]
    current: Intensity
    previous: Intensity
    yoy: YearOnYear
    products: tuple[ProductIntensity, ...]
    id: int  # enterprises.id


@dataclass(frozen=True, slots=True)
class _Context:
    factors: dict[int, FactorSet]  # by enterprise id: the shipped ones with its measured values
    quotas: QuotaSet
    window: Window
    method: ElectricityMethod  # electricity in the enterprises' figures
    threshold: float
    months: dict[tuple[str, int, date], OwnerMonth]  # by kind, owner id, first month of a run
    runs: dict[date, date]  # each month: the first month of its run
    attributed: dict[int, list[AttributedPoint]]  # by product id
    entries: Entries


def _figure_inputs(
    ctx: _Context, kind: str, owner: int, window: Window
) -> tuple[list[CarrierMonth], Completeness]:
    """The carriers' amounts (shares applied) of ``window``, one per run of months converted
    with the same factors (dated the run's first month), and the completeness of the points."""
    amounts, parts = [], []
    for run in sorted({ctx.runs[m] for m in window.months}):
        one = ctx.months.get((kind, owner, run))
        if one is None:  # nothing attributed
            continue
        amounts += [CarrierMonth(run, c.carrier, c.unit, c.amount) for c in one.carriers]
        parts.append(one.completeness)
    return amounts, combined(parts)


def factor_runs(factor_sets: Iterable[FactorSet], windows: Sequence[Window]) -> dict[date, date]:
    """Each month of ``windows`` mapped to the first month of its run: consecutive months of
    one window whose standard-coal factors are the same in every one of ``factor_sets`` (summing
    their amounts before converting gives the same kgce as converting each month)."""
    distinct = list({id(f): f for f in factor_sets}.values())
    runs: dict[date, date] = {}
    for w in windows:
        first, valid = w.months[0], None
        for month in w.months:
            now_valid = tuple(tuple(f for f in fs.coal if f.valid_on(month)) for fs in distinct)
            if now_valid != valid:
                first, valid = month, now_valid
            runs[month] = first
    return runs


def _product(ctx: _Context, row: ProductRow, enterprise: str) -> ProductIntensity:
    method = ElectricityMethod(row.electricity_method)
    pts = ctx.attributed.get(row.id, [])
    output = ctx.entries.output.get(row.id, [])

    def over(w: Window) -> Intensity:
        amounts, completeness = _figure_inputs(ctx, "product", row.id, w)
        return unit_product_energy(
            w,
            comprehensive_energy(amounts, ctx.factors[row.enterprise_id], method),
            output,
            completeness,
            unit=row.unit,
            attributed=bool(pts),
            threshold=ctx.threshold,
        )

    current, previous = over(ctx.window), over(ctx.window.last_year())
    entry, judgement = _judged(ctx, row, current)
    return ProductIntensity(
        enterprise,
        row.code,
        row.name,
        row.unit,
        row.plant,
        row.quota_standard,
        row.quota_product,
        tuple(pts),
        current,
        previous,
        year_on_year(current, previous),
        entry,
        judgement,
        row.id,
    )


def _judged(
    ctx: _Context, row: ProductRow, figure: Intensity
) -> tuple[QuotaEntry | None, QuotaJudgement]:
    """The product's quota entry in force in the window's last month and the verdict on the
    window's figure (a quota in another unit than the figure judges nothing)."""
    entry = None
    if row.quota_standard and row.quota_product:
        entry = ctx.quotas.entry(row.quota_standard, row.quota_product, ctx.window.months[-1])
    plant = PlantStatus(row.plant)
    if entry is not None and entry.unit != figure.unit:
        reason = f"the quota is in {entry.unit}, the figure in {figure.unit}"
        return entry, judge(None, entry, plant, sufficient=False, reason=reason)
    return entry, judge(
        figure.value, entry, plant, sufficient=figure.sufficient, reason=figure.reason
    )


def intensities(
    conn: Connection,
    factors: FactorSet,
    quotas: QuotaSet,
    window: Window,
    zone: ZoneInfo,
    *,
    codes: Sequence[str] | None = None,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
    threshold: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> list[EnterpriseIntensity]:
    """The intensity figures of each active enterprise (or of ``codes``) over ``window`` and
    the same months last year, in code order, as of ``now`` (default: the clock), each product
    judged against its entry in ``quotas``; carriers convert by ``factors`` with the
    enterprise's measured heating values (GB/T 2589-2020: measured values first). ``method``:
    electricity in the enterprises' value-added figures (a product names its own)."""
    ents = enterprise_rows(conn, codes)
    ids = [e.id for e in ents]
    if not ids:
        return []
    prods = product_rows(conn, ids)
    attributed = attributed_points(conn, [p.id for p in prods])
    counted = enterprise_points(conn, ids)
    own = enterprise_factors(conn, factors, ids)
    runs = factor_runs(own.values(), [window.last_year(), window])
    point_ids = {p.point_id for pts in (*attributed.values(), *counted.values()) for p in pts}
    ctx = _Context(
        own,
        quotas,
        window,
        method,
        threshold,
        owner_months(
            conn,
            product_ids=[p.id for p in prods],
            enterprise_ids=ids,
            point_ids=sorted(point_ids),
            runs=runs,
            zone=zone,
            now=now,
        ),
        runs,
        attributed,
        monthly_entries(conn, ids, sorted(runs)),
    )
    by_enterprise: dict[int, list[ProductRow]] = {}
    for p in prods:
        by_enterprise.setdefault(p.enterprise_id, []).append(p)
    return [_enterprise(ctx, e, counted.get(e.id, []), by_enterprise.get(e.id, [])) for e in ents]


def _enterprise(
    ctx: _Context,
    e: EnterpriseRow,
    pts: Sequence[AttributedPoint],
    prods: Sequence[ProductRow],
) -> EnterpriseIntensity:
    value_added = ctx.entries.value_added.get(e.id, [])

    def over(w: Window) -> Intensity:
        amounts, completeness = _figure_inputs(ctx, "enterprise", e.id, w)
        return value_added_energy(
            w,
            comprehensive_energy(amounts, ctx.factors[e.id], ctx.method),
            value_added,
            completeness,
            attributed=bool(pts),
            threshold=ctx.threshold,
        )

    current, previous = over(ctx.window), over(ctx.window.last_year())
    products = tuple(_product(ctx, p, e.code) for p in prods)
    return EnterpriseIntensity(
        e.code,
        e.name,
        e.town,
        e.industry,
        ctx.window,
        ctx.method.value,
        tuple(pts),
        current,
        previous,
        year_on_year(current, previous),
        products,
        e.id,
    )

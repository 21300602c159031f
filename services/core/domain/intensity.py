"""Energy intensity (能耗强度): unit-product energy consumption and energy per 10^4 CNY of value
added, over a month, a quarter or the year to date, with the change on the same period last year.

- Comprehensive energy consumption (综合能耗, GB/T 2589-2020 clause 3.6 and Annex A): the sum over
  carriers of the amount consumed x its standard-coal coefficient, in kgce; each month's amounts
  are converted with the factors valid on its first day. Electricity is counted at its
  equivalent value (当量值) unless the product (or the caller) says equal value (等价值); every
  figure names the method. Water is no energy carrier here and is left out.
- Unit-product comprehensive energy consumption (单位产品综合能耗) = the product's comprehensive
  energy (kgce) / its output over the same months, in kgce per the product's unit (e.g. kgce/t).
- Energy per 10^4 CNY of value added (万元增加值能耗) = the enterprise's comprehensive energy (tce)
  / its value added (10^4 CNY at comparable prices of one base year), in tce/10^4 CNY.
- Year-on-year change = (this period - the same months last year) / last year's; a decline is its
  negative. Value added at prices of different base years is not compared.
- District aggregate = sum of energy / sum of value added over the enterprises whose own figure is
  sufficient; its decline is taken over the enterprises sufficient in both years (like for like).

A figure is **insufficient data**, not a finding, when its attributed points are below the
completeness threshold (measured collection periods / expected ones, services/core/domain/
completeness.py), when a month of the window has no production figure, or when nothing is
attributed; the reason is given in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cached_property

from services.core.domain.coefficients import ElectricityMethod, Factor, FactorSet, NoFactorError
from services.core.domain.completeness import Completeness
from services.core.domain.rounding import percent

VALUE_ADDED_UNIT = "10^4 CNY"
NOT_ENERGY = frozenset({"water"})


class IntensityPeriod(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"  # the whole calendar quarter holding the month
    YTD = "ytd"  # January to the month


@dataclass(frozen=True)
class Window:
    """The months a figure covers: a month, its calendar quarter, or January to it."""

    year: int
    month: int
    period: IntensityPeriod = IntensityPeriod.MONTH

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1-12")

    @cached_property
    def months(self) -> tuple[date, ...]:
        """The first day of each month of the window."""
        if self.period is IntensityPeriod.MONTH:
            first, last = self.month, self.month
        elif self.period is IntensityPeriod.QUARTER:
            first = 3 * ((self.month - 1) // 3) + 1
            last = first + 2
        else:
            first, last = 1, self.month
        return tuple(date(self.year, m, 1) for m in range(first, last + 1))

    def last_year(self) -> Window:
        """The same months one year earlier."""
        return Window(self.year - 1, self.month, self.period)

    @property
    def label(self) -> str:
        if self.period is IntensityPeriod.MONTH:
            return f"{self.year:04d}-{self.month:02d}"
        if self.period is IntensityPeriod.QUARTER:
            return f"{self.year:04d}-Q{(self.month - 1) // 3 + 1}"
        return f"{self.year:04d}-01..{self.year:04d}-{self.month:02d}"


def month_label(month: date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


@dataclass(frozen=True, slots=True)
class CarrierMonth:
    """A point's amount of a carrier in a month and the share of it attributed (1: whole)."""

    month: date
    carrier: str
    unit: str
    amount: float
    share: float = 1.0


@dataclass(frozen=True, slots=True)
class CarrierFigure:
    """One carrier of a comprehensive energy figure, as an auditor re-computes it: amount x
    factor = kgce."""

    carrier: str
    unit: str
    amount: float
    factor_kgce: float  # kgce per factor_unit
    factor_unit: str
    source: str
    kgce: float
    method: str | None  # electricity only
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class EnergyFigure:
    """Comprehensive energy consumption of a product or an enterprise over a window."""

    carriers: tuple[CarrierFigure, ...]
    kgce: float
    method: str
    missing_factors: tuple[str, ...] = ()  # "steam on 2026-03-01": left out, so insufficient

    @property
    def tce(self) -> float:
        return self.kgce / 1000


_Conversion = tuple[Factor, float] | None  # the factor and kgce per unit of the amount
_Memo = dict[tuple[str, str, date, str], _Conversion]
_MEMOS: dict[int, tuple[FactorSet, _Memo]] = {}  # by id: each factor set and its lookups


def _memo_of(factors: FactorSet) -> _Memo:
    """The lookups of ``factors`` (by identity: an enterprise's set lives as long as a call)."""
    found = _MEMOS.get(id(factors))
    if found is not None and found[0] is factors:
        return found[1]
    if len(_MEMOS) >= 256:  # sets of finished calls: forget them
        _MEMOS.clear()
    memo: _Memo = {}
    _MEMOS[id(factors)] = (factors, memo)
    return memo


def _conversion(
    factors: FactorSet, memo: _Memo, a: CarrierMonth, method: ElectricityMethod
) -> _Conversion:
    """The factor ``factors.kgce`` uses for one unit of ``a``'s carrier in its month (None: none),
    looked up once per factor set (a district's figures convert tens of thousands of amounts)."""
    key = (a.carrier, a.unit, a.month, method.value)
    if key not in memo:
        try:
            one = factors.kgce(a.carrier, 1.0, a.unit, a.month, method)
            memo[key] = (one.factor, one.value)
        except NoFactorError:
            memo[key] = None
    return memo[key]


def comprehensive_energy(
    amounts: Iterable[CarrierMonth],
    factors: FactorSet,
    method: ElectricityMethod = ElectricityMethod.EQUIVALENT,
) -> EnergyFigure:
    """Sum of amount x share x standard-coal factor (GB/T 2589-2020 Annex A) per carrier, each
    month with the factor valid on its first day; one line per carrier, unit and factor."""
    lines: dict[tuple[str, str, str, float, str], list[float]] = {}
    extra: dict[tuple[str, str, str, float, str], tuple[str | None, bool]] = {}
    missing: list[str] = []
    memo = _memo_of(factors)
    for a in amounts:
        if a.carrier in NOT_ENERGY:
            continue
        amount = a.amount * a.share
        conversion = _conversion(factors, memo, a, method)
        if conversion is None:
            missing.append(f"{a.carrier} on {a.month.isoformat()}")
            continue
        f, per_unit = conversion
        key = (a.carrier, a.unit, f.unit, f.value, f.source)
        sums = lines.setdefault(key, [0.0, 0.0])
        sums[0] += amount
        sums[1] += amount * per_unit
        extra[key] = (method.value if a.carrier == "electricity" else None, f.uncertain)
    carriers = []
    for key, (amount, kgce) in sorted(lines.items()):
        carrier, unit, factor_unit, factor, source = key
        elec_method, uncertain = extra[key]
        carriers.append(
            CarrierFigure(
                carrier, unit, amount, factor, factor_unit, source, kgce, elec_method, uncertain
            )
        )
    return EnergyFigure(
        tuple(carriers), sum(c.kgce for c in carriers), method.value, tuple(sorted(set(missing)))
    )


@dataclass(frozen=True, slots=True)
class ProductionFigure:
    """A monthly production entry as the row holds it (its latest revision)."""

    month: date
    value: float
    unit: str
    revision: int = 1
    entered_by: str = ""
    price_base_year: int | None = None


@dataclass(frozen=True, slots=True)
class Intensity:
    """An intensity over a window: ``value`` in ``unit``, or None with ``reason`` when the data
    do not support a finding."""

    window: Window
    value: float | None
    unit: str
    energy: EnergyFigure
    denominator: float
    denominator_unit: str
    production: tuple[ProductionFigure, ...]
    completeness: Completeness
    reason: str = ""

    @property
    def sufficient(self) -> bool:
        return self.value is not None

    @property
    def price_base_year(self) -> int | None:
        years = {p.price_base_year for p in self.production}
        return years.pop() if len(years) == 1 else None


def _reasons(
    window: Window,
    energy: EnergyFigure,
    production: Sequence[ProductionFigure],
    completeness: Completeness,
    *,
    attributed: bool,
    what: str,
    unit: str,
    threshold: float,
) -> list[str]:
    """Why a figure is insufficient data (empty: it is not)."""
    reasons = []
    if not attributed:
        reasons.append("no attributed meters")
    elif completeness.expected == 0:
        reasons.append("no meter data: its meters owed none then (not yet reporting)")
    elif not completeness.sufficient(threshold):
        reasons.append(
            f"completeness {percent(completeness.share, down=True)} < {percent(threshold)} "
            f"({completeness.measured} of {completeness.expected} collection periods measured)"
        )
    entered = {p.month for p in production}
    absent = [month_label(m) for m in window.months if m not in entered]
    if absent:
        reasons.append(f"no {what} entered for {', '.join(absent)}")
    wrong = sorted({p.unit for p in production if p.unit != unit})
    if wrong:
        reasons.append(f"{what} entered in {', '.join(wrong)}, not {unit}")
    if energy.missing_factors:
        reasons.append(f"no standard-coal factor for {', '.join(energy.missing_factors)}")
    return reasons


def _intensity(
    window: Window,
    energy: EnergyFigure,
    production: Sequence[ProductionFigure],
    completeness: Completeness,
    *,
    attributed: bool,
    what: str,
    denominator_unit: str,
    numerator: float,
    numerator_unit: str,
    threshold: float,
    extra_reasons: Sequence[str] = (),
) -> Intensity:
    inside = tuple(sorted((p for p in production if p.month in window.months), key=_by_month))
    reasons = _reasons(
        window,
        energy,
        inside,
        completeness,
        attributed=attributed,
        what=what,
        unit=denominator_unit,
        threshold=threshold,
    )
    reasons.extend(extra_reasons)
    denominator = sum(p.value for p in inside)
    value = numerator / denominator if not reasons and denominator > 0 else None
    return Intensity(
        window,
        value,
        f"{numerator_unit}/{denominator_unit}",
        energy,
        denominator,
        denominator_unit,
        inside,
        completeness,
        "; ".join(reasons),
    )


def _by_month(p: ProductionFigure) -> date:
    return p.month


def unit_product_energy(
    window: Window,
    energy: EnergyFigure,
    output: Sequence[ProductionFigure],
    completeness: Completeness,
    *,
    unit: str,
    attributed: bool,
    threshold: float,
) -> Intensity:
    """Unit-product comprehensive energy consumption = kgce / output, in kgce per ``unit``
    (the product's unit)."""
    return _intensity(
        window,
        energy,
        output,
        completeness,
        attributed=attributed,
        what="output",
        denominator_unit=unit,
        numerator=energy.kgce,
        numerator_unit="kgce",
        threshold=threshold,
    )


def value_added_energy(
    window: Window,
    energy: EnergyFigure,
    value_added: Sequence[ProductionFigure],
    completeness: Completeness,
    *,
    attributed: bool,
    threshold: float,
) -> Intensity:
    """Energy per 10^4 CNY of value added = tce / value added (10^4 CNY at comparable prices
    of one base year; months at different base years cannot be summed)."""
    inside = [p for p in value_added if p.month in window.months]
    years = sorted({p.price_base_year for p in inside if p.price_base_year is not None})
    extra = []
    if len(years) > 1:
        extra.append(
            f"value added at prices of different base years ({', '.join(map(str, years))})"
        )
    return _intensity(
        window,
        energy,
        value_added,
        completeness,
        attributed=attributed,
        what="value added",
        denominator_unit=VALUE_ADDED_UNIT,
        numerator=energy.tce,
        numerator_unit="tce",
        threshold=threshold,
        extra_reasons=extra,
    )


@dataclass(frozen=True, slots=True)
class YearOnYear:
    """This period against the same months last year: ``change`` as a share (+ = a rise)."""

    current: float | None
    previous: float | None
    change: float | None
    text: str

    @property
    def decline(self) -> float | None:
        return -self.change if self.change is not None else None


def year_on_year(current: Intensity, previous: Intensity) -> YearOnYear:
    """The change of ``current`` on ``previous`` (the same window a year earlier)."""
    against = previous.window.label
    if not current.sufficient:
        return YearOnYear(
            None, previous.value, None, "no comparison: this period has insufficient data"
        )
    if not previous.sufficient:
        return YearOnYear(
            current.value,
            None,
            None,
            f"no comparison: {against} insufficient data ({previous.reason})",
        )
    assert current.value is not None
    assert previous.value is not None
    now_base, then_base = current.price_base_year, previous.price_base_year
    if current.denominator_unit == VALUE_ADDED_UNIT and now_base != then_base:
        return YearOnYear(
            current.value,
            previous.value,
            None,
            f"not comparable: value added at {now_base} prices, {against} at {then_base} prices",
        )
    change = (current.value - previous.value) / previous.value
    word = "up" if change > 0 else "down" if change < 0 else "unchanged"
    size = "" if change == 0 else f" {percent(abs(change))}"
    return YearOnYear(
        current.value,
        previous.value,
        change,
        f"{word}{size} on {against} ({_num(previous.value)} -> {_num(current.value)} "
        f"{current.unit})",
    )


def _num(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True, slots=True)
class DistrictIntensity:
    """The district's energy per 10^4 CNY of value added over the enterprises with data."""

    window: Window
    energy_tce: float
    value_added: float
    value: float | None
    enterprises: int  # counted this period
    insufficient: int  # left out: insufficient data
    previous: float | None  # last year, over the enterprises sufficient in both years
    compared: int  # how many those are
    decline: float | None  # (previous - this, like for like) / previous
    target_decline: float | None
    text: str

    @property
    def target_met(self) -> bool | None:
        if self.decline is None or self.target_decline is None:
            return None
        return self.decline >= self.target_decline - 1e-12


def district_intensity(
    window: Window,
    pairs: Sequence[tuple[Intensity, Intensity]],
    target_decline: float | None,
) -> DistrictIntensity:
    """Sum of energy / sum of value added over the enterprises whose ``(this period, last
    year)`` figure is sufficient; the decline like for like; judged against ``target_decline``
    (e.g. 0.03 for a 3 % decline; None: no target set)."""
    now = [c for c, _ in pairs if c.sufficient]
    both = [(c, p) for c, p in pairs if c.sufficient and p.sufficient]
    tce = sum(c.energy.tce for c in now)
    added = sum(c.denominator for c in now)
    value = tce / added if now and added > 0 else None
    previous = decline = None
    if both:
        like_now = sum(c.energy.tce for c, _ in both) / sum(c.denominator for c, _ in both)
        previous = sum(p.energy.tce for _, p in both) / sum(p.denominator for _, p in both)
        decline = (previous - like_now) / previous if previous > 0 else None
    text = _district_text(value, decline, target_decline, len(both))
    return DistrictIntensity(
        window,
        tce,
        added,
        value,
        len(now),
        len(pairs) - len(now),
        previous,
        len(both),
        decline,
        target_decline,
        text,
    )


def _district_text(
    value: float | None, decline: float | None, target: float | None, compared: int
) -> str:
    if value is None:
        return "insufficient data (no enterprise with sufficient energy and value-added data)"
    if decline is None:
        return "no comparison: no enterprise has sufficient data in both years"
    moved = f"declined {percent(decline)}" if decline >= 0 else f"rose {percent(-decline)}"
    moved += f" on last year ({compared} enterprises like for like)"
    if target is None:
        return f"{moved}; no target set"
    if decline >= target - 1e-12:
        return f"{moved}: target met ({percent(decline)} >= {percent(target)} decline)"
    return f"{moved}: behind target ({percent(decline)} < {percent(target)} decline)"

"""National product energy-quota standards (单位产品能源消耗限额) and the verdict on a product's
unit-product comprehensive energy consumption against them.

A quota standard gives, per product and process, up to three values of the same indicator:

- 限定值 (limit value): every existing plant must meet it;
- 准入值 (entry value): new and expanded plants must meet it;
- 先进值 (advanced value): the benchmark "对标先进" refers to.

Editions written as energy-consumption grades (能耗限额等级, e.g. GB 16780-2021, GB 21256-2025)
state the same three as grade 3 (the limit), grade 2 (the entry value for new and expanded plants)
and grade 1 (the most advanced); an entry keeps the three roles whatever its edition calls them.

Lower is better for every quota; values may be negative (a converter recovers more energy than it
uses). A new plant's binding value is the entry value (the limit when its standard gives none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import pairwise


class PlantStatus(StrEnum):
    """Which value binds a plant: existing plants the limit, new and expanded ones the entry."""

    EXISTING = "existing"
    NEW = "new"


class QuotaLevel(StrEnum):
    """The three values of a quota standard, by role."""

    LIMIT = "limit"  # 限定值 (grade 3)
    ENTRY = "entry"  # 准入值 (grade 2)
    ADVANCED = "advanced"  # 先进值 (grade 1)

    @property
    def zh(self) -> str:
        return _LEVEL_ZH[self]


_LEVEL_ZH = {QuotaLevel.LIMIT: "限定值", QuotaLevel.ENTRY: "准入值", QuotaLevel.ADVANCED: "先进值"}


class QuotaVerdict(StrEnum):
    OVER_LIMIT = "over_limit"  # above the binding value: a violation
    ABOVE_ENTRY = "above_entry"  # an existing plant within its limit that a new one could not be
    WITHIN = "within"
    LEADER = "leader"  # at or better than the advanced value
    INSUFFICIENT_DATA = "insufficient_data"
    NO_QUOTA = "no_quota"


@dataclass(frozen=True, slots=True)
class QuotaEntry:
    """One product's values in one edition of a quota standard, each with the clause and table it
    comes from. ``verified`` is true only once checked against the published standard."""

    standard: str  # e.g. "GB 16780-2021"
    product: str  # key, e.g. "cement_clinker"
    product_zh: str
    product_en: str
    indicator_zh: str  # e.g. 熟料单位产品综合能耗
    indicator_en: str
    boundary: str  # the process boundary the standard counts within
    unit: str  # e.g. "kgce/t"
    limit_value: float | None
    entry_value: float | None
    advanced_value: float | None
    valid_from: date  # the edition's implementation date
    valid_to: date | None = None  # last day in force (None: in force)
    limit_source: str = ""  # e.g. "GB 16780-2021 4.2, Table 2, grade 3"
    entry_source: str = ""
    advanced_source: str = ""
    transcribed_from: str = ""  # where the figures were read
    verified: bool = False
    note: str = ""

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)

    def value(self, level: QuotaLevel) -> float | None:
        return {
            QuotaLevel.LIMIT: self.limit_value,
            QuotaLevel.ENTRY: self.entry_value,
            QuotaLevel.ADVANCED: self.advanced_value,
        }[level]

    def own_source(self, level: QuotaLevel) -> str:
        """The clause and table given for ``level``'s value, as written ("" when none)."""
        return {
            QuotaLevel.LIMIT: self.limit_source,
            QuotaLevel.ENTRY: self.entry_source,
            QuotaLevel.ADVANCED: self.advanced_source,
        }[level]

    def source(self, level: QuotaLevel) -> str:
        """The clause and table of ``level``'s value; the standard's number when none is given."""
        return self.own_source(level) or self.standard


@dataclass(frozen=True)
class QuotaSet:
    """The quota entries of a data file, and the file's version."""

    version: str
    _entries: tuple[QuotaEntry, ...]

    @classmethod
    def of(cls, version: str, entries: Iterable[QuotaEntry]) -> QuotaSet:
        return cls(version, tuple(entries))

    def entries(self, standard: str | None = None) -> tuple[QuotaEntry, ...]:
        """Every entry (of ``standard`` only, with or without its year, when given), in file
        order."""
        return tuple(
            e for e in self._entries if standard is None or _same_standard(e.standard, standard)
        )

    def entry(self, standard: str, product: str, on: date) -> QuotaEntry | None:
        """The entry of ``product`` in ``standard`` in force on ``on``.

        ``standard`` is a number with its year ("GB 16780-2021") or without ("GB 16780": the
        edition in force on ``on``)."""
        found = [
            e
            for e in self._entries
            if e.product == product and _same_standard(e.standard, standard) and e.valid_on(on)
        ]
        return max(found, key=lambda e: e.valid_from) if found else None


def _same_standard(edition: str, asked: str) -> bool:
    return edition == asked or edition.rsplit("-", 1)[0] == asked


@dataclass(frozen=True, slots=True)
class QuotaJudgement:
    verdict: QuotaVerdict
    value: float | None
    judged_against: float | None  # the value the verdict compares with
    against: QuotaLevel | None  # which one it is
    distance_to_limit: float | None  # value - 限定值 (negative: below the limit)
    share_of_limit: float | None  # (value - 限定值) / |限定值|
    text: str


def judge(
    value: float | None,
    entry: QuotaEntry | None,
    plant: PlantStatus,
    *,
    sufficient: bool,
    reason: str = "",
) -> QuotaJudgement:
    """The verdict on a unit-product energy consumption ``value`` (in ``entry.unit``).

    Over the binding value (existing plant: 限定值; new plant: 准入值, or 限定值 when the
    standard gives no 准入值) is ``over_limit``; at or below 先进值 ``leader``; an existing plant
    above 准入值 ``above_entry``; otherwise ``within``. Without enough data (``sufficient`` false,
    or no value; ``reason`` says why, e.g. "completeness 43 % < 90 %") there is no finding. Lower
    is better.
    """
    if entry is None:
        return QuotaJudgement(
            QuotaVerdict.NO_QUOTA, value, None, None, None, None, "no quota for this product"
        )
    distance, share = _distance(value, entry.limit_value)
    if not sufficient or value is None:
        why = reason or ("no value" if value is None else "not enough data")
        return QuotaJudgement(
            QuotaVerdict.INSUFFICIENT_DATA,
            value,
            None,
            None,
            distance,
            share,
            f"insufficient data ({why})",
        )
    kind, level = _grade(value, entry, plant)
    against = entry.value(level) if level is not None else None
    if level is None or against is None:
        text = f"no quota: {entry.standard} gives no 限定值 for {entry.product_en}"
        return QuotaJudgement(QuotaVerdict.NO_QUOTA, value, None, None, distance, share, text)
    sign = ">" if kind in {QuotaVerdict.OVER_LIMIT, QuotaVerdict.ABOVE_ENTRY} else "≤"
    text = (
        f"{_WORDS[kind, level]} ({_num(value)} {sign} {_num(against)} {entry.unit}, "
        f"{entry.source(level)} {level.zh})"
    )
    return QuotaJudgement(kind, value, against, level, distance, share, text)


_WORDS = {
    (QuotaVerdict.OVER_LIMIT, QuotaLevel.LIMIT): "over the limit",
    (QuotaVerdict.OVER_LIMIT, QuotaLevel.ENTRY): "over the entry value",
    (QuotaVerdict.ABOVE_ENTRY, QuotaLevel.ENTRY): "above the entry value",
    (QuotaVerdict.WITHIN, QuotaLevel.LIMIT): "within the limit",
    (QuotaVerdict.WITHIN, QuotaLevel.ENTRY): "within the entry value",
    (QuotaVerdict.LEADER, QuotaLevel.ADVANCED): "leader",
}


def _grade(
    value: float, entry: QuotaEntry, plant: PlantStatus
) -> tuple[QuotaVerdict, QuotaLevel | None]:
    """The verdict on a sufficient ``value`` and the level it is judged against (None: the
    standard gives nothing binding and the value is no leader)."""
    binding = _binding_level(entry, plant)
    bound = entry.value(binding) if binding is not None else None
    if binding is not None and bound is not None and value > bound:
        return QuotaVerdict.OVER_LIMIT, binding
    if entry.advanced_value is not None and value <= entry.advanced_value:
        return QuotaVerdict.LEADER, QuotaLevel.ADVANCED
    if binding is None:
        return QuotaVerdict.NO_QUOTA, None
    if binding is QuotaLevel.LIMIT and entry.entry_value is not None and value > entry.entry_value:
        return QuotaVerdict.ABOVE_ENTRY, QuotaLevel.ENTRY
    return QuotaVerdict.WITHIN, binding


def _binding_level(entry: QuotaEntry, plant: PlantStatus) -> QuotaLevel | None:
    if plant is PlantStatus.NEW and entry.entry_value is not None:
        return QuotaLevel.ENTRY
    return QuotaLevel.LIMIT if entry.limit_value is not None else None


def _distance(value: float | None, limit: float | None) -> tuple[float | None, float | None]:
    if value is None or limit is None:
        return None, None
    distance = value - limit
    return distance, (distance / abs(limit) if limit else None)


def _num(value: float) -> str:
    """A figure as officers read it: thousands separated, no trailing zeros (1,650; -28; 97.5)."""
    return f"{round(value, 3) + 0.0:,g}" if abs(value) < 1e6 else f"{value:,.0f}"


QUOTA_UNITS = frozenset({"kgce/t", "kWh/t", "gce/kWh", "kgoe/t"})
"""Units a quota may be stated in: standard coal or electricity per tonne of product, standard coal
per kWh supplied (coal-fired units), kilograms of oil equivalent per tonne (refining)."""


def entry_problems(entry: QuotaEntry) -> list[str]:
    """What is wrong with ``entry`` as data: an unknown unit, no value, a value without its
    source, values out of order (lower is better: 先进值 <= 准入值 <= 限定值), dates reversed."""
    problems = []
    if entry.unit not in QUOTA_UNITS:
        problems.append(f"unit {entry.unit!r} unknown; known: {', '.join(sorted(QUOTA_UNITS))}")
    present = [(lv, v) for lv in QuotaLevel if (v := entry.value(lv)) is not None]
    if not present:
        problems.append("no value: give at least one of limit_value, entry_value, advanced_value")
    for level, _ in present:
        if not entry.own_source(level).strip():
            problems.append(f"{level.value}_value has no {level.value}_source (clause and table)")
    ordered = sorted(present, key=lambda p: _RANK[p[0]])
    for (better, low), (worse, high) in pairwise(ordered):
        if low > high:
            problems.append(
                f"{better.value}_value {_num(low)} > {worse.value}_value {_num(high)} "
                f"(lower is better: {better.zh} <= {worse.zh})"
            )
    if entry.valid_to is not None and entry.valid_to < entry.valid_from:
        problems.append(
            f"valid_to {entry.valid_to.isoformat()} is before valid_from "
            f"{entry.valid_from.isoformat()}"
        )
    return problems


_RANK = {QuotaLevel.ADVANCED: 0, QuotaLevel.ENTRY: 1, QuotaLevel.LIMIT: 2}

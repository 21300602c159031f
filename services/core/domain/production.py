"""Production and economic figures as submitted: every row checked, the whole submission refused
with every bad row listed, or a list of figures to store.

A row is either a product's output for a month (``period: 2026-11``) or a day
(``period: 2026-11-05``), in the unit the product is registered with, or the enterprise's economic
figures for a month: value added and/or gross output in 10^4 CNY at comparable prices of a stated
base year (万元增加值能耗 divides by value added at comparable prices). Figures are accepted only
for periods that are over: a day before today, a month before this one (local dates).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from services.core.errors import EnergymonError

ECONOMIC_UNIT = "10^4 CNY"
ECONOMIC_UNITS = frozenset({ECONOMIC_UNIT, "万元"})
ECONOMIC_FIELDS = {"value_added_10k_cny": "value_added", "gross_output_10k_cny": "gross_output"}
OUTPUT_FIELDS = ("period", "product", "output", "unit", "comment")
FIELDS = (*OUTPUT_FIELDS, *ECONOMIC_FIELDS, "price_base_year")
EARLIEST_BASE_YEAR = 1949
_PERIOD = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


class Kind(StrEnum):
    OUTPUT = "output"
    VALUE_ADDED = "value_added"
    GROSS_OUTPUT = "gross_output"


class PeriodKind(StrEnum):
    MONTH = "month"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date  # the day, or the 1st of the month

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-11`` (a month) or ``2026-11-05`` (a day); ValueError otherwise."""
        m = _PERIOD.match(text.strip())
        if m is None:
            raise ValueError(f"period {text!r} is neither a month (2026-11) nor a day (2026-11-05)")
        year, month, day = int(m[1]), int(m[2]), m[3]
        try:
            start = date(year, month, int(day) if day else 1)
        except ValueError as err:
            raise ValueError(f"period {text!r} is not a date of the calendar") from err
        return cls(PeriodKind.DAY if day else PeriodKind.MONTH, start)

    @property
    def month(self) -> date:
        return self.start.replace(day=1)

    @property
    def label(self) -> str:
        if self.kind is PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        return self.start.isoformat()

    def is_over(self, today: date) -> bool:
        """A day before ``today``, or a month before ``today``'s."""
        if self.kind is PeriodKind.DAY:
            return self.start < today
        return self.start < today.replace(day=1)


@dataclass(frozen=True, slots=True)
class ProductRef:
    """What validation needs of a registered product."""

    code: str
    unit: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure to store: a product's output (``product`` set) or an economic figure."""

    row: int
    kind: Kind
    product: str | None
    period: Period
    value: float
    unit: str
    price_base_year: int | None = None
    comment: str | None = None

    @property
    def key(self) -> tuple[str | None, Kind, PeriodKind, date]:
        return (self.product, self.kind, self.period.kind, self.period.start)

    @property
    def label(self) -> str:
        what = f"{self.product} output" if self.product else self.kind.value
        return f"{what} {self.period.label}"


@dataclass(frozen=True, slots=True)
class RowError:
    row: int
    reason: str


class SubmissionError(EnergymonError):
    """A submission with bad rows: nothing of it is stored. ``errors`` lists every bad row."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        n = len(self.errors)
        super().__init__(
            f"{n} bad row{'s' if n != 1 else ''}, nothing stored: "
            + "; ".join(f"row {e.row}: {e.reason}" for e in self.errors)
        )


class _Bad(Exception):  # noqa: N818 - internal: one row's reason, never leaves this module
    pass


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _number(name: str, value: Any) -> float:
    """A finite number > 0: a JSON/XLSX number or a CSV text such as ``1250.5``."""
    if isinstance(value, bool):
        raise _Bad(f"{name} must be a number, not {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError as err:
            raise _Bad(f"{name} must be a number, not {value!r}") from err
    else:
        raise _Bad(f"{name} must be a number, not {value!r}")
    if not math.isfinite(number):
        raise _Bad(f"{name} must be a finite number, not {value!r}")
    if number <= 0:
        raise _Bad(f"{name} must be greater than 0, not {value!r}")
    return number


def _base_year(value: Any, period: Period) -> int:
    if not _present(value):
        raise _Bad(
            "price_base_year is required with value added and gross output (comparable prices "
            "of a stated base year, e.g. 2020)"
        )
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text.isdigit():
        raise _Bad(f"price_base_year must be a year such as 2020, not {value!r}")
    year = int(text)
    if not EARLIEST_BASE_YEAR <= year <= period.start.year:
        raise _Bad(
            f"price_base_year {year} must lie between {EARLIEST_BASE_YEAR} and the period's "
            f"year {period.start.year}"
        )
    return year


def _unknown_field(name: str) -> str:
    for field, kind in ECONOMIC_FIELDS.items():
        if name.startswith(kind) and name != field:
            words = kind.replace("_", " ")
            return f"{words} is entered in 10^4 CNY in the field {field}, not {name}"
    return f"unknown field {name} (fields: {', '.join(FIELDS)})"


def _period(value: Any, today: date) -> Period:
    if not _present(value):
        raise _Bad("period is required: a month (2026-11) or a day (2026-11-05)")
    if not isinstance(value, str):
        raise _Bad(f"period must be text such as 2026-11 or 2026-11-05, not {value!r}")
    try:
        period = Period.parse(value)
    except ValueError as err:
        raise _Bad(str(err)) from err
    if not period.is_over(today):
        raise _Bad(f"period {period.label} is not over yet (today is {today.isoformat()})")
    return period


def _output(
    fields: Mapping[str, Any], period: Period, products: Mapping[str, ProductRef], row: int
) -> list[Figure]:
    code = str(fields["product"]).strip()
    product = products.get(code)
    if product is None:
        known = ", ".join(sorted(products)) or "none registered"
        raise _Bad(f"no product {code} in the enterprise's registry (products: {known})")
    if not product.active:
        raise _Bad(f"product {code} is out of service and takes no figures")
    economic = [f for f in (*ECONOMIC_FIELDS, "price_base_year") if _present(fields.get(f))]
    if economic:
        raise _Bad(
            f"a row is a product's output or the enterprise's economic figures, not both "
            f"({', '.join(economic)} beside product {code})"
        )
    if not _present(fields.get("output")):
        raise _Bad(f"output is required for product {code}")
    value = _number("output", fields["output"])
    unit = str(fields.get("unit") or "").strip()
    if not unit:
        raise _Bad(f"unit is required: product {code} is entered in {product.unit}")
    if unit != product.unit:
        raise _Bad(f"product {code} is entered in {product.unit}, not {unit}")
    comment = _comment(fields)
    return [Figure(row, Kind.OUTPUT, code, period, value, unit, None, comment)]


def _economic(fields: Mapping[str, Any], period: Period, row: int) -> list[Figure]:
    given = [f for f in ECONOMIC_FIELDS if _present(fields.get(f))]
    if not given:
        raise _Bad(
            "a row names a product (with its output) or carries value_added_10k_cny and/or "
            "gross_output_10k_cny"
        )
    if _present(fields.get("output")):
        raise _Bad("output needs the product it is the output of")
    if period.kind is not PeriodKind.MONTH:
        raise _Bad(f"economic figures are monthly: period {period.label} is a day")
    unit = str(fields.get("unit") or "").strip()
    if unit and unit not in ECONOMIC_UNITS:
        raise _Bad(
            f"value added and gross output are entered in 10^4 CNY (万元), not {unit}: "
            "use the fields value_added_10k_cny and gross_output_10k_cny"
        )
    year = _base_year(fields.get("price_base_year"), period)
    comment = _comment(fields)
    return [
        Figure(
            row,
            Kind(ECONOMIC_FIELDS[f]),
            None,
            period,
            _number(f, fields[f]),
            ECONOMIC_UNIT,
            year,
            comment,
        )
        for f in given
    ]


def _comment(fields: Mapping[str, Any]) -> str | None:
    comment = fields.get("comment")
    return str(comment).strip() if _present(comment) else None


def validate_row(
    row: int, fields: Mapping[str, Any], products: Mapping[str, ProductRef], *, today: date
) -> list[Figure]:
    """The figures of one row; ``_Bad`` (internal) names what is wrong with it."""
    unknown = [str(k) for k in fields if k not in FIELDS]
    if unknown:
        raise _Bad("; ".join(_unknown_field(k) for k in unknown))
    period = _period(fields.get("period"), today)
    if _present(fields.get("product")):
        return _output(fields, period, products, row)
    return _economic(fields, period, row)


def validate_submission(
    rows: Iterable[tuple[int, Mapping[str, Any]]],
    products: Mapping[str, ProductRef],
    *,
    today: date,
) -> list[Figure]:
    """Every row's figures, or SubmissionError listing every bad row (by its ``row`` number: a
    file line, a sheet row or a list item) and why: a submission is stored whole or not at all.

    ``today`` is the local date: only periods that are over take figures.
    """
    figures: list[Figure] = []
    errors: list[RowError] = []
    seen: dict[tuple[str | None, Kind, PeriodKind, date], int] = {}
    for row, fields in rows:
        if not isinstance(fields, Mapping):
            errors.append(RowError(row, f"a row is an object of fields, not {fields!r}"))
            continue
        try:
            mine = validate_row(row, fields, products, today=today)
        except _Bad as bad:
            errors.append(RowError(row, str(bad)))
            continue
        for f in mine:
            first = seen.setdefault(f.key, row)
            if first != row:
                errors.append(RowError(row, f"{f.label} repeats row {first}"))
                break
        else:
            figures.extend(mine)
    if errors:
        raise SubmissionError(errors)
    return figures


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def due_date(month: date, due_day: int) -> date:
    """The day of the next month by which ``month``'s figures are due
    (ENERGYMON_PRODUCTION_DUE_DAY); they are missing from the day after."""
    return next_month(month).replace(day=due_day)


def last_due_month(today: date, due_day: int) -> date:
    """The latest month whose due day has passed on ``today``."""
    month = today.replace(day=1)
    back = 2 if today.day <= due_day else 1
    for _ in range(back):
        month = (month - timedelta(days=1)).replace(day=1)
    return month

"""Production submissions: what a row becomes, what is refused and how the answer reads."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.core.domain.production import (
    ECONOMIC_UNIT,
    Figure,
    Kind,
    Period,
    PeriodKind,
    ProductRef,
    SubmissionError,
    due_date,
    last_due_month,
    validate_submission,
)

TODAY = date(2026, 12, 2)
PRODUCTS = {
    "steel": ProductRef("steel", "t"),
    "castings": ProductRef("castings", "t"),
    "ingots": ProductRef("ingots", "t", active=False),
}


def _submit(*rows: dict[str, Any]) -> list[Figure]:
    return validate_submission(enumerate(rows, start=2), PRODUCTS, today=TODAY)


def _reasons(*rows: dict[str, Any]) -> list[tuple[int, str]]:
    with pytest.raises(SubmissionError) as info:
        _submit(*rows)
    return [(e.row, e.reason) for e in info.value.errors]


@pytest.mark.parametrize(
    ("row", "kind", "period", "value", "unit", "base_year"),
    [
        ({"period": "2026-11", "product": "steel", "output": 1250.5, "unit": "t"},
         Kind.OUTPUT, Period(PeriodKind.MONTH, date(2026, 11, 1)), 1250.5, "t", None),
        ({"period": "2026-12-01", "product": "steel", "output": "41", "unit": "t"},
         Kind.OUTPUT, Period(PeriodKind.DAY, date(2026, 12, 1)), 41.0, "t", None),
        ({"period": "2026-10", "value_added_10k_cny": 830, "price_base_year": 2020},
         Kind.VALUE_ADDED, Period(PeriodKind.MONTH, date(2026, 10, 1)), 830.0, ECONOMIC_UNIT,
         2020),
        ({"period": "2026-10", "gross_output_10k_cny": "2400.5", "price_base_year": "2020",
          "unit": "10^4 CNY"},
         Kind.GROSS_OUTPUT, Period(PeriodKind.MONTH, date(2026, 10, 1)), 2400.5, ECONOMIC_UNIT,
         2020),
    ],
)  # fmt: skip
def test_a_valid_row_becomes_its_figure(
    row: dict[str, Any],
    kind: Kind,
    period: Period,
    value: float,
    unit: str,
    base_year: int | None,
) -> None:
    (figure,) = _submit(row)
    assert (figure.kind, figure.period, figure.value, figure.unit, figure.price_base_year) == (
        kind,
        period,
        value,
        unit,
        base_year,
    )


def test_one_row_may_carry_value_added_and_gross_output() -> None:
    figures = _submit(
        {
            "period": "2026-11",
            "value_added_10k_cny": 830,
            "gross_output_10k_cny": 2400,
            "price_base_year": 2020,
            "comment": "from the statistics office return",
        }
    )
    assert [(f.kind, f.value, f.comment) for f in figures] == [
        (Kind.VALUE_ADDED, 830.0, "from the statistics office return"),
        (Kind.GROSS_OUTPUT, 2400.0, "from the statistics office return"),
    ]


REFUSED = [
    ({"period": "2026-11", "product": "steel", "output": 12.5, "unit": "kt"},
     "product steel is entered in t, not kt"),
    ({"period": "2026-11", "product": "steel", "output": 0, "unit": "t"},
     "output must be greater than 0, not 0"),
    ({"period": "2026-11", "product": "steel", "output": -3, "unit": "t"},
     "output must be greater than 0, not -3"),
    ({"period": "2026-11", "product": "steel", "output": "12 t", "unit": "t"},
     "output must be a number, not '12 t'"),
    ({"period": "2026-11", "product": "steel", "output": True, "unit": "t"},
     "output must be a number, not True"),
    ({"period": "2026-11", "product": "steel", "output": "nan", "unit": "t"},
     "output must be a finite number, not 'nan'"),
    ({"period": "2026-11", "product": "wire", "output": 5, "unit": "t"},
     "no product wire in the enterprise's registry (products: castings, ingots, steel)"),
    ({"period": "2026-11", "product": "ingots", "output": 5, "unit": "t"},
     "product ingots is out of service and takes no figures"),
    ({"period": "2026-12", "product": "steel", "output": 5, "unit": "t"},
     "period 2026-12 is not over yet (today is 2026-12-02)"),
    ({"period": "2026-12-02", "product": "steel", "output": 5, "unit": "t"},
     "period 2026-12-02 is not over yet (today is 2026-12-02)"),
    ({"period": "2026-13", "product": "steel", "output": 5, "unit": "t"},
     "period '2026-13' is not a date of the calendar"),
    ({"period": "2026-02-30", "product": "steel", "output": 5, "unit": "t"},
     "period '2026-02-30' is not a date of the calendar"),
    ({"period": "Nov 2026", "product": "steel", "output": 5, "unit": "t"},
     "period 'Nov 2026' is neither a month (2026-11) nor a day (2026-11-05)"),
    ({"product": "steel", "output": 5, "unit": "t"},
     "period is required: a month (2026-11) or a day (2026-11-05)"),
    ({"period": "2026-11", "product": "steel", "unit": "t"},
     "output is required for product steel"),
    ({"period": "2026-11", "product": "steel", "output": 5},
     "unit is required: product steel is entered in t"),
    ({"period": "2026-11", "value_added": 830, "price_base_year": 2020},
     "value added is entered in 10^4 CNY in the field value_added_10k_cny, not value_added"),
    ({"period": "2026-11", "value_added_cny": 8300000, "price_base_year": 2020},
     "value added is entered in 10^4 CNY in the field value_added_10k_cny, not value_added_cny"),
    ({"period": "2026-11", "value_added_10k_cny": 830, "unit": "CNY", "price_base_year": 2020},
     "value added and gross output are entered in 10^4 CNY (万元), not CNY: use the fields "
     "value_added_10k_cny and gross_output_10k_cny"),
    ({"period": "2026-11", "value_added_10k_cny": 830},
     "price_base_year is required with value added and gross output (comparable prices of a "
     "stated base year, e.g. 2020)"),
    ({"period": "2026-11", "value_added_10k_cny": 830, "price_base_year": 2027},
     "price_base_year 2027 must lie between 1949 and the period's year 2026"),
    ({"period": "2026-11", "value_added_10k_cny": 830, "price_base_year": "twenty"},
     "price_base_year must be a year such as 2020, not 'twenty'"),
    ({"period": "2026-11-05", "value_added_10k_cny": 30, "price_base_year": 2020},
     "economic figures are monthly: period 2026-11-05 is a day"),
    ({"period": "2026-11", "product": "steel", "output": 5, "unit": "t",
      "value_added_10k_cny": 830},
     "a row is a product's output or the enterprise's economic figures, not both "
     "(value_added_10k_cny beside product steel)"),
    ({"period": "2026-11", "comment": "nothing"},
     "a row names a product (with its output) or carries value_added_10k_cny and/or "
     "gross_output_10k_cny"),
    ({"period": "2026-11", "output": 5, "value_added_10k_cny": 1, "price_base_year": 2020},
     "output needs the product it is the output of"),
    ({"period": "2026-11", "product": "steel", "output": 5, "unit": "t", "qty": 1},
     "unknown field qty (fields: period, product, output, unit, comment, value_added_10k_cny, "
     "gross_output_10k_cny, price_base_year)"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "reason"), REFUSED)
def test_a_bad_row_is_refused_with_its_reason(row: dict[str, Any], reason: str) -> None:
    assert _reasons(row) == [(2, reason)]


def test_every_bad_row_is_listed_and_none_of_the_submission_is_kept() -> None:
    good = {"period": "2026-11", "product": "castings", "output": 7, "unit": "t"}
    errors = _reasons(
        good,
        {"period": "2026-11", "product": "steel", "output": 12.5, "unit": "kt"},
        good | {"period": "2026-10"},
        {"period": "2026-11", "value_added": 830, "price_base_year": 2020},
    )
    assert errors == [
        (3, "product steel is entered in t, not kt"),
        (5, "value added is entered in 10^4 CNY in the field value_added_10k_cny, not value_added"),
    ]


def test_a_key_twice_in_one_submission_is_refused_naming_the_first_row() -> None:
    row = {"period": "2026-11", "product": "steel", "output": 5, "unit": "t"}
    economic = {"period": "2026-11", "value_added_10k_cny": 1, "price_base_year": 2020}
    assert _reasons(row, row | {"output": 6}, economic, economic) == [
        (3, "steel output 2026-11 repeats row 2"),
        (5, "value_added 2026-11 repeats row 4"),
    ]


def test_a_month_and_its_days_are_different_figures() -> None:
    figures = _submit(
        {"period": "2026-11", "product": "steel", "output": 300, "unit": "t"},
        {"period": "2026-11-05", "product": "steel", "output": 10, "unit": "t"},
    )
    assert [f.period.kind for f in figures] == [PeriodKind.MONTH, PeriodKind.DAY]


def test_a_row_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(SubmissionError) as info:
        validate_submission([(1, ["2026-11", "steel"])], PRODUCTS, today=TODAY)  # type: ignore[list-item]
    assert info.value.errors[0].reason == "a row is an object of fields, not ['2026-11', 'steel']"


@pytest.mark.parametrize(
    ("today", "due_day", "month"),
    [
        (date(2026, 12, 10), 10, date(2026, 10, 1)),  # November is due on the 10th, not late yet
        (date(2026, 12, 11), 10, date(2026, 11, 1)),
        (date(2027, 1, 11), 10, date(2026, 12, 1)),
        (date(2027, 1, 1), 10, date(2026, 11, 1)),
        (date(2026, 3, 2), 1, date(2026, 2, 1)),
    ],
)
def test_the_last_due_month_is_the_latest_whose_due_day_has_passed(
    today: date, due_day: int, month: date
) -> None:
    assert last_due_month(today, due_day) == month
    assert due_date(month, due_day) < today

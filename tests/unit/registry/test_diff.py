"""The registry plan's diff: rows added, removed (deactivated) and changed, field by field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.core.registry.diff import FieldChange, RowChange, diff_snapshots, plan_line, shown

ENT = ("91120111MA05K8XX3E",)
METER = ("meters", ("91120111MA05K8XX3E", "M-100"))


def _meter(**fields: Any) -> dict[str, Any]:
    return {
        "site": "plant-1",
        "multiplier": Decimal("80"),
        "serial": None,
        "active": True,
        **fields,
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (True, "true"),
        (Decimal("80.000000"), "80"),
        (Decimal("0.250000"), "0.25"),
        (1.5, "1.5"),
        (date(2026, 1, 1), "2026-01-01"),
        ({"b": 1, "a": "天"}, '{"a": "天", "b": 1}'),
    ],
)
def test_values_read_as_an_admin_reads_them(value: object, text: str | None) -> None:
    assert shown(value) == text


def test_a_changed_field_is_listed_with_its_old_and_new_value_and_the_rest_is_not() -> None:
    before = {METER: _meter()}
    after = {METER: _meter(multiplier=Decimal("120"), serial="SN-9")}
    assert diff_snapshots(before, after) == [
        RowChange(
            "meters",
            METER[1],
            "changed",
            (FieldChange("multiplier", "80", "120"), FieldChange("serial", None, "SN-9")),
        )
    ]


def test_new_and_reactivated_rows_are_added_and_deactivated_ones_removed() -> None:
    gone = ("sites", (*ENT, "dc-1"))
    back = ("sites", (*ENT, "plant-2"))
    new = ("enterprises", ENT)
    before = {gone: {"name": "DC", "active": True}, back: {"name": "P2", "active": False}}
    after = {
        gone: {"name": "DC", "active": False},
        back: {"name": "P2", "active": True},
        new: {"name": "Xiqing", "town": None, "active": True},
    }
    changes = diff_snapshots(before, after)
    assert [(c.table, c.label, c.action) for c in changes] == [
        ("enterprises", "91120111MA05K8XX3E", "added"),
        ("sites", "91120111MA05K8XX3E/plant-2", "added"),
        ("sites", "91120111MA05K8XX3E/dc-1", "removed"),
    ]
    assert changes[0].fields == (FieldChange("name", None, "Xiqing"),)  # no empty fields


def test_unchanged_and_still_inactive_rows_are_left_out() -> None:
    asleep = ("gateways", (*ENT, "gw-9"))
    same = {METER: _meter(), asleep: {"name": "old", "active": False}}
    later = {METER: _meter(), asleep: {"name": "renamed", "active": False}}
    assert diff_snapshots(same, later) == []


def test_a_plan_line_reads_as_a_diff() -> None:
    change = RowChange("meters", METER[1], "changed", (FieldChange("serial", None, "SN-9"),))
    assert plan_line(change) == "~ meters 91120111MA05K8XX3E/M-100: serial - -> SN-9"
    assert plan_line(RowChange("sites", (*ENT, "dc-1"), "removed")) == (
        "- sites 91120111MA05K8XX3E/dc-1"
    )

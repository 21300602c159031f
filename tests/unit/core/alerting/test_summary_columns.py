"""Alert rows become AlertSummary and AlertDetail by position: the selected columns are the
dataclasses' fields, in their order."""

from __future__ import annotations

from dataclasses import fields

from services.core.alerting import store


def test_the_summary_columns_are_the_summary_fields_in_order() -> None:
    columns = [c.name for c in store._SUMMARY_COLUMNS]
    assert columns == [f.name for f in fields(store.AlertSummary)]
    assert [*columns, "evidence"] == [f.name for f in fields(store.AlertDetail)]

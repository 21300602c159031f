"""Rows rendered by orjson are the documents the response models describe, byte for byte."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
from pydantic import TypeAdapter

from services.api.models import AlertOut, ConsumptionOut, Page
from services.api.render import rows_response
from services.core.accounting.queries import PeriodConsumption

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_period_consumption_has_the_fields_of_consumption_out_in_its_order() -> None:
    assert [f.name for f in fields(PeriodConsumption)] == list(ConsumptionOut.model_fields)


def test_an_alert_page_renders_as_the_model_would() -> None:
    item = {
        "id": 7,
        "rule": "pue_over_limit",
        "subject_type": "site",
        "subject": "91120111MA05K8XX3E/dc-1",
        "enterprise": "91120111MA05K8XX3E",
        "window": "ytd",
        "severity": "warning",
        "state": "acknowledged",
        "title": "PUE 1.31 over 1.25",
        "value": 1.3100000003754566,
        "limit": 1.25,
        "opened_at": datetime(2026, 11, 1, 8, 0, 1, 123456, tzinfo=UTC).astimezone(SHANGHAI),
        "updated_at": datetime(2026, 11, 2, tzinfo=SHANGHAI),
        "acknowledged_at": datetime(2026, 11, 2, 9, tzinfo=SHANGHAI),
        "acknowledged_by": "wang.officer",
        "resolved_at": None,
        "resolved_by": None,
        "resolution_comment": None,
    }
    assert list(item) == list(AlertOut.model_fields)
    page = {"items": [item], "next_cursor": "Nw"}
    model = TypeAdapter(Page[AlertOut])
    assert rows_response(page).body == model.dump_json(model.validate_python(page))
    assert orjson.loads(rows_response(page).body)["items"][0]["opened_at"] == (
        "2026-11-01T16:00:01.123456+08:00"
    )

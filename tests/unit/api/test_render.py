"""What the routes render is what the response models describe, byte for byte: rows by orjson,
models by ``model_response`` (as FastAPI itself would serialise the response model)."""

from __future__ import annotations

import asyncio
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
from fastapi import FastAPI, Response
from pydantic import TypeAdapter

from services.api.models.alerts import AlertDetailOut, AlertOut
from services.api.models.common import Page
from services.api.models.consumption import ConsumptionOut
from services.api.models.demand import DemandResponseOut
from services.api.render import model_response, rows_response
from services.core.store.consumption import PeriodConsumption

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


def _both(tp: Any, value: Any, status_code: int) -> tuple[httpx.Response, httpx.Response]:
    """The same value answered by FastAPI from the response model, and by ``model_response``."""
    app = FastAPI()

    @app.get("/fastapi", response_model=tp, status_code=status_code)
    def by_fastapi() -> Any:
        return value

    @app.get("/render", response_model=tp, status_code=status_code)
    def by_render() -> Response:
        return model_response(tp, value, status_code=status_code)

    async def ask() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.get("/fastapi"), await client.get("/render")

    return asyncio.run(ask())


def test_a_model_response_is_the_answer_fastapi_gives_for_the_response_model() -> None:
    alert = AlertDetailOut(
        id=4,
        rule="pue_over_limit",
        subject_type="site",
        subject="91120111MA05K8XX3E/dc-1",
        enterprise=None,
        window="ytd",
        severity="critical",
        state="open",
        title='PUE 1.310 above its limit 1.25 (当量值, m³) \u2028 "quoted" </script>',
        value=1.3100000003754566,
        limit=1e-7,
        opened_at=datetime(2026, 11, 1, 8, 0, 1, 123456, tzinfo=UTC).astimezone(SHANGHAI),
        updated_at=datetime(2026, 11, 2, tzinfo=SHANGHAI),
        evidence={"facility_kwh": 1.2345e22, "it_kwh": 0.0, "gaps": [None, True, 3, -0.0]},
        history=[],
    )
    for tp, value, status_code in (
        (AlertDetailOut, alert, 200),
        (list[AlertDetailOut], [alert, alert], 200),
        (
            DemandResponseOut,
            DemandResponseOut(
                id=1,
                name="Afternoon peak",
                start=datetime(2026, 11, 25, 14, tzinfo=SHANGHAI),
                end=datetime(2026, 11, 25, 16, tzinfo=SHANGHAI),
                note=None,
                created_by="wang.officer",
                created_at=datetime(2026, 11, 29, 14, 7, 4, 182368, tzinfo=UTC),
            ),
            201,
        ),
    ):
        by_fastapi, by_render = _both(tp, value, status_code)
        assert by_render.status_code == by_fastapi.status_code == status_code
        assert by_render.headers.items() == by_fastapi.headers.items()
        assert by_render.content == by_fastapi.content

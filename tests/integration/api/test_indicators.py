"""Indicators through the API equal the accounting functions for the same data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from services.core.store.consumption import consumption
from services.core.store.scope import Scope
from tests.integration.api.conftest import DAY, SHANGHAI, ApiHarness, feed
from tests.integration.conftest import ENT_A, ENT_B


def test_pue_of_a_window_through_the_api(fed: ApiHarness) -> None:
    resp = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/sites/dc-1/pue",
        params={
            "window": "custom",
            "from": DAY.isoformat(),
            "to": (DAY + timedelta(days=1)).isoformat(),
        },
        headers=fed.as_("ent_a"),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["status"], body["pue"], body["limit"], body["over_limit"]) == (
        "ok",
        pytest.approx(1.30),
        1.25,
        True,
    )
    assert body["start"] == "2026-11-17T00:00:00+08:00"
    assert (
        fed.client.get(
            f"/api/v1/enterprises/{ENT_A}/sites/plant-1/pue", headers=fed.as_("officer")
        ).status_code
        == 404
    )


def test_consumption_through_the_api_equals_the_accounting_function(fed: ApiHarness) -> None:
    params = {
        "from": DAY.isoformat(),
        "to": (DAY + timedelta(days=1)).isoformat(),
        "interval": "1h",
    }
    body = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/consumption", params=params, headers=fed.as_("officer")
    ).json()
    engine = make_engine(fed.db)
    with engine.connect() as conn:
        direct = consumption(
            conn,
            scope=Scope(enterprise=ENT_A),
            start=DAY,
            end=DAY + timedelta(days=1),
            interval="1h",
            zone=SHANGHAI,
        )
    engine.dispose()
    assert len(body) == len(direct) == 24
    for got, want in zip(body, direct, strict=True):
        assert datetime.fromisoformat(got["period"]) == want.period
        assert got["amount"] == pytest.approx(want.amount)
        assert got["completeness"] == pytest.approx(want.completeness)
    assert body[0]["amount"] == pytest.approx(4 * 80 + 4 * 13)  # M-100 x80 and DC-IN, not DC-IT


def test_the_ranking_puts_sites_over_their_limit_first_and_stays_in_the_tenant(
    api: ApiHarness,
) -> None:
    now = datetime.now(UTC)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start -= timedelta(hours=24)
    feed(api, "DC-IN-1", 13.0, start)
    feed(api, "DC-IT-1", 10.0, start)
    engine = make_engine(api.db)
    catch_up(engine)
    engine.dispose()
    everyone = api.client.get(
        "/api/v1/data-centres/pue-ranking",
        params={"window": "rolling_24h"},
        headers=api.as_("officer"),
    ).json()
    assert [(r["enterprise"], r["site"]) for r in everyone] == [(ENT_A, "dc-1"), (ENT_B, "dc-b")]
    assert (everyone[0]["pue"], everyone[0]["over_limit"]) == (pytest.approx(1.3), True)
    assert everyone[1]["status"] == "insufficient_data"  # dc-b has no readings at all
    mine = api.client.get("/api/v1/data-centres/pue-ranking", headers=api.as_("ent_b")).json()
    assert [r["site"] for r in mine] == ["dc-b"]

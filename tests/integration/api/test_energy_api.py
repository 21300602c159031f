"""tce and CO2, town and district aggregates, a sub-meter's own consumption, the budget ranking,
peak demand and demand-response results through the API: the same numbers as the accounting
functions, within the caller's tenancy."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
import pytest

from services.core.db import make_engine
from services.core.factors import default_factors
from services.core.store.consumption import consumption, totals
from services.core.store.scope import Scope
from tests.integration.api.conftest import DAY, SHANGHAI, ApiHarness, shed_load
from tests.integration.conftest import ENT_A, ENT_B

WINDOW = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}


def test_tce_and_co2_of_an_enterprise_name_their_factors_and_equal_the_accounting(
    fed: ApiHarness,
) -> None:
    resp = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy", params=WINDOW, headers=fed.as_("ent_a")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    kwh = 96 * 1 * 80 + 96 * 13  # M-100 (x80) and the DC facility meter; the IT meter is inside
    [electricity] = body["carriers"]
    assert (electricity["carrier"], electricity["region"], electricity["amount"]) == (
        "electricity",
        "north",
        pytest.approx(kwh),
    )
    assert body["total_tce"] == round(kwh * 0.1229 / 1000, 4)  # tce to 0.0001
    assert body["total_tco2"] == round(kwh / 1000 * 0.6361, 3)  # North China grid 2023, to 1 kg
    assert "GB/T 2589-2020" in electricity["coal_source"]
    assert "North China" in electricity["co2_source"]
    engine = make_engine(fed.db)
    with engine.connect() as conn:
        [direct] = totals(
            conn,
            default_factors(),
            start=DAY,
            end=DAY + timedelta(days=1),
            zone=SHANGHAI,
            scope=Scope(enterprise=ENT_A),
        )
    engine.dispose()
    assert direct.kgce is not None
    assert body["total_tce"] == round(direct.kgce.value / 1000, 4)
    # the equal-value method uses the supply coal rate instead
    equal = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy",
        params={**WINDOW, "method": "equal"},
        headers=fed.as_("ent_a"),
    ).json()
    assert equal["total_tce"] == round(kwh * 0.305 / 1000, 4)
    assert equal["carriers"][0]["uncertain"] is True


def test_town_and_district_aggregates_are_for_officers_and_add_up(fed: ApiHarness) -> None:
    a = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy", params=WINDOW, headers=fed.as_("officer")
    ).json()
    town = fed.client.get(
        "/api/v1/towns/Zhangjiawo/energy", params=WINDOW, headers=fed.as_("officer")
    ).json()
    district = fed.client.get(
        "/api/v1/district/energy", params=WINDOW, headers=fed.as_("officer")
    ).json()
    assert town["total_tce"] == pytest.approx(a["total_tce"])
    assert district["total_tce"] == pytest.approx(a["total_tce"])  # B has no data that day
    assert (district["scope"], town["scope"]) == ("district", "town Zhangjiawo")
    for path in ("/api/v1/district/energy", "/api/v1/towns/Zhangjiawo/energy"):
        assert fed.client.get(path, params=WINDOW, headers=fed.as_("ent_a")).status_code == 403
    assert (
        fed.client.get(
            "/api/v1/towns/Atlantis/energy", params=WINDOW, headers=fed.as_("officer")
        ).status_code
        == 404
    )
    days = fed.client.get(
        "/api/v1/district/consumption",
        params={**WINDOW, "interval": "1d"},
        headers=fed.as_("officer"),
    ).json()
    engine = make_engine(fed.db)
    with engine.connect() as conn:
        direct = consumption(
            conn,
            start=DAY,
            end=DAY + timedelta(days=1),
            interval="1d",
            zone=SHANGHAI,
            scope=Scope(),
        )
    engine.dispose()
    assert [(d["carrier"], d["amount"]) for d in days] == [
        (r.carrier, pytest.approx(r.amount)) for r in direct
    ]


def test_a_sub_meter_reports_its_own_consumption(fed: ApiHarness) -> None:
    body = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/meters/DC-IT-1/consumption",
        params={**WINDOW, "interval": "1d"},
        headers=fed.as_("ent_a"),
    ).json()
    assert [(b["period"], b["amount"]) for b in body] == [
        ("2026-11-17T00:00:00+08:00", pytest.approx(96 * 10))
    ]
    other = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/meters/DC-IT-1/consumption",
        params={**WINDOW, "interval": "1d"},
        headers=fed.as_("ent_b"),
    )
    assert other.status_code == 404


def test_peak_demand_is_the_highest_quarter_hour_times_four(fed: ApiHarness) -> None:
    body = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/peak-demand", params=WINDOW, headers=fed.as_("ent_a")
    ).json()
    assert body["peak_kw"] == pytest.approx((80 + 13) * 4)
    assert body["at"] == "2026-11-17T00:00:00+08:00"


def test_budgets_are_ranked_by_share_used_within_the_tenant(fed: ApiHarness) -> None:
    year = datetime.now(SHANGHAI).year
    with psycopg.connect(fed.db.libpq_url) as conn:
        for code, carrier, amount, unit in (
            (ENT_A, "", 50000, "tce"),
            (ENT_A, "electricity", 1_000_000, "kWh"),
            (ENT_B, "", 10, "tce"),
        ):
            conn.execute(
                "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit) "
                "SELECT id, %s, %s, %s, %s FROM enterprises WHERE code = %s",
                (year, carrier, amount, unit, code),
            )
    officer = fed.client.get("/api/v1/budgets/status", headers=fed.as_("officer")).json()
    assert [(b["enterprise"], b["carrier"]) for b in officer] == [
        (ENT_A, "electricity"),  # 8,928 kWh of 1,000,000: 0.9 %
        (ENT_A, None),  # 1.1 tce of 50,000
        (ENT_B, None),  # nothing used
    ]
    if DAY.year == year:  # the fed day counts towards this year's budget
        assert officer[0]["used"] == pytest.approx(96 * 80 + 96 * 13)
        assert officer[0]["share_used"] == round(8928 / 1_000_000, 4)  # shares to 0.01 %
    mine = fed.client.get("/api/v1/budgets/status", headers=fed.as_("ent_b")).json()
    assert [b["enterprise"] for b in mine] == [ENT_B]


def test_energy_by_period_equals_one_energy_request_per_period(fed: ApiHarness) -> None:
    """A month by day, one request: the fed day's period is what /energy answers for that day;
    the next day holds only the closing reading at midnight (a zero bucket); days without
    rollups are left out."""
    month = {"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"}
    days = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy/periods",
        params={**month, "interval": "1d"},
        headers=fed.as_("ent_a"),
    )
    assert days.status_code == 200
    day = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy", params=WINDOW, headers=fed.as_("ent_a")
    ).json()
    assert days.json()[0] == day
    assert [(d["start"], d["total_tce"]) for d in days.json()[1:]] == [
        ("2026-11-18T00:00:00+08:00", 0.0)
    ]
    months = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy/periods",
        params={**month, "interval": "1mo"},
        headers=fed.as_("officer"),
    ).json()
    assert [(m["start"], m["end"]) for m in months] == [(month["from"], month["to"])]
    assert months[0]["total_tce"] == pytest.approx(day["total_tce"])
    other = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy/periods", params=month, headers=fed.as_("ent_b")
    )
    assert other.status_code == 404


def _add_budget(fed: ApiHarness, code: str, amount: float) -> None:
    with psycopg.connect(fed.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit) "
            "SELECT id, %s, '', %s, 'tce' FROM enterprises WHERE code = %s",
            (datetime.now(SHANGHAI).year, amount, code),
        )


def test_the_budget_ranking_is_shared_for_its_ttl_and_says_how_old_it_is(
    fed: ApiHarness,
) -> None:
    """Default ENERGYMON_API_SNAPSHOT_TTL_S (30 s): a budget added after the first request shows
    only once the snapshot is renewed; every answer carries Age and Last-Modified, and an
    enterprise account's answer is its own part of the same snapshot."""
    _add_budget(fed, ENT_A, 50000)
    first = fed.client.get("/api/v1/budgets/status", headers=fed.as_("officer"))
    assert [b["enterprise"] for b in first.json()] == [ENT_A]
    assert first.headers["Age"] == "0"
    _add_budget(fed, ENT_B, 10)
    again = fed.client.get("/api/v1/budgets/status", headers=fed.as_("officer"))
    assert again.json() == first.json()
    assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
    # the enterprise's answer is filtered from the same snapshot, not computed anew
    assert fed.client.get("/api/v1/budgets/status", headers=fed.as_("ent_b")).json() == []
    mine = fed.client.get("/api/v1/budgets/status", headers=fed.as_("ent_a")).json()
    assert mine == first.json()


@pytest.mark.parametrize("api_overrides", [{"snapshot_ttl_s": 0}])
def test_without_a_snapshot_ttl_every_request_sees_the_latest_budgets(fed: ApiHarness) -> None:
    _add_budget(fed, ENT_A, 50000)
    first = fed.client.get("/api/v1/budgets/status", headers=fed.as_("officer")).json()
    assert [b["enterprise"] for b in first] == [ENT_A]
    _add_budget(fed, ENT_B, 10)
    again = fed.client.get("/api/v1/budgets/status", headers=fed.as_("officer")).json()
    assert sorted(b["enterprise"] for b in again) == sorted([ENT_A, ENT_B])


def test_demand_response_results_compare_the_event_with_five_similar_days(
    api: ApiHarness,
) -> None:
    """M-100 draws 320 kW (80 kWh a quarter hour) every day; on Wednesday 18 November it sheds
    half its load from 18:00 to 19:00 during an event."""
    event = (
        datetime(2026, 11, 18, 18, tzinfo=SHANGHAI),
        datetime(2026, 11, 18, 19, tzinfo=SHANGHAI),
    )
    shed_load(
        api, datetime(2026, 11, 9, tzinfo=SHANGHAI), datetime(2026, 11, 19, tzinfo=SHANGHAI), event
    )
    created = api.client.post(
        "/api/v1/demand-response/events",
        json={"name": "evening peak", "start": event[0].isoformat(), "end": event[1].isoformat()},
        headers=api.as_("officer"),
    )
    assert created.status_code == 201, created.text
    event_id = created.json()["id"]
    refused = api.client.post(
        "/api/v1/demand-response/events",
        json={"name": "x", "start": event[0].isoformat(), "end": event[1].isoformat()},
        headers=api.as_("ent_a"),
    )
    assert refused.status_code == 403
    results = api.client.get(
        f"/api/v1/demand-response/events/{event_id}/results", headers=api.as_("officer")
    ).json()
    a = next(r for r in results if r["enterprise"] == ENT_A)
    assert (a["baseline_kw"], a["actual_kw"], a["reduction_kw"]) == (
        pytest.approx(320),
        pytest.approx(160),
        pytest.approx(160),
    )
    assert a["peak_kw"] == pytest.approx(320)
    assert a["share_of_peak"] == pytest.approx(0.5)
    assert results[0]["enterprise"] == ENT_A  # the largest reduction first
    mine = api.client.get(
        f"/api/v1/demand-response/events/{event_id}/results", headers=api.as_("ent_b")
    ).json()
    assert [r["enterprise"] for r in mine] == [ENT_B]
    assert mine[0]["reduction_kw"] is None  # no data

"""Monthly reports: the figures equal the energy API's for the same month, the CSV and XLSX carry
the same figures as the JSON, and a report stays within the caller's tenancy."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import psycopg
import pytest
from openpyxl import load_workbook

from services.accounting.rollup import catch_up
from services.core.db import make_engine
from tests.integration.api.conftest import SHANGHAI, ApiHarness, feed
from tests.integration.conftest import ENT_A, ENT_B

MONTH = "2026-11"  # the fed day, 17 November, lies in it
MONTH_WINDOW = {
    "from": datetime(2026, 11, 1, tzinfo=SHANGHAI).isoformat(),
    "to": datetime(2026, 12, 1, tzinfo=SHANGHAI).isoformat(),
}
KWH = 96 * 80 + 96 * 13  # M-100 (x80) and the data centre's facility meter


def _report(api: ApiHarness, user: str, fmt: str = "json") -> object:
    resp = api.client.get(
        f"/api/v1/reports/enterprises/{ENT_A}/monthly",
        params={"month": MONTH, "format": fmt},
        headers=api.as_(user),
    )
    assert resp.status_code == 200, resp.text
    return resp


def _budget(api: ApiHarness, code: str, carrier: str, amount: float, unit: str) -> None:
    with psycopg.connect(api.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit) "
            "SELECT id, 2026, %s, %s, %s FROM enterprises WHERE code = %s",
            (carrier, amount, unit, code),
        )


def test_an_enterprise_report_equals_the_energy_api_for_the_month(fed: ApiHarness) -> None:
    _budget(fed, ENT_A, "electricity", 10_000, "kWh")
    body = _report(fed, "ent_a").json()  # type: ignore[attr-defined]
    energy = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/energy", params=MONTH_WINDOW, headers=fed.as_("ent_a")
    ).json()
    assert (body["enterprise"], body["month"], body["town"]) == (ENT_A, MONTH, "Zhangjiawo")
    assert body["start"] == "2026-11-01T00:00:00+08:00"
    assert body["end"] == "2026-12-01T00:00:00+08:00"
    lines = {c["carrier"]: c for c in body["carriers"]}
    assert set(lines) == {"electricity", "natural_gas"}  # the gas meter sent nothing: 0 m3
    electricity, gas = lines["electricity"], lines["natural_gas"]
    assert electricity["amount"] == pytest.approx(KWH)
    assert (gas["amount"], gas["completeness"], gas["tce"]) == (0, 0, 0)
    assert body["total_tce"] == pytest.approx(energy["total_tce"])
    assert body["total_tco2"] == pytest.approx(energy["total_tco2"])
    assert electricity["coal_source"] == energy["carriers"][0]["coal_source"]
    assert electricity["co2_source"] == energy["carriers"][0]["co2_source"]
    # the budget as of the month's end (or now, within the month): 8,928 of 10,000 kWh
    [budget] = body["budgets"]
    assert (budget["carrier"], budget["used"]) == ("electricity", pytest.approx(KWH))
    assert budget["share_used"] == pytest.approx(KWH / 10_000)
    assert budget["state"] in {"warning", "projected_overrun", "exceeded"}
    # the data centre: 13 kWh facility over 10 kWh IT each quarter hour, for one day of 30
    [dc] = body["data_centres"]
    pue = fed.client.get(
        f"/api/v1/enterprises/{ENT_A}/sites/dc-1/pue",
        params={"window": "custom", **MONTH_WINDOW},
        headers=fed.as_("ent_a"),
    ).json()
    assert (dc["site"], dc["dc_class"], dc["limit"]) == ("dc-1", "new_large", 1.25)
    assert dc["facility_kwh"] == pytest.approx(96 * 13)
    assert dc["it_kwh"] == pytest.approx(96 * 10)
    assert dc["status"] == pue["status"] == "insufficient_data"  # one day of the month
    # one day of readings in the (so far) twelve or more since the first of them
    assert 0 < electricity["completeness"] < 0.1
    assert 0 < body["completeness"] < electricity["completeness"]


def test_csv_and_xlsx_carry_the_json_figures(fed: ApiHarness) -> None:
    body = _report(fed, "officer").json()  # type: ignore[attr-defined]
    resp = _report(fed, "officer", "csv")
    assert resp.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    assert f"energymon-{ENT_A}-{MONTH}.csv" in resp.headers["content-disposition"]  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(resp.text)))  # type: ignore[attr-defined]
    assert rows[0][0] == "section"
    summary = {r[1]: r[2] for r in rows if r[0] == "Summary"}
    assert float(summary["total_tce"]) == pytest.approx(body["total_tce"])
    assert float(summary["total_tco2"]) == pytest.approx(body["total_tco2"])
    energy = {r[1]: float(r[3]) for r in rows if r[0] == "Energy"}
    assert energy == {"electricity": pytest.approx(KWH), "natural_gas": 0}

    xlsx = _report(fed, "officer", "xlsx")
    book = load_workbook(io.BytesIO(xlsx.content))  # type: ignore[attr-defined]
    assert book.sheetnames == ["Summary", "Energy", "Budgets", "Data centres", "Intensity"]
    sheet = {str(r[0]): r[1] for r in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert sheet["total_tce"] == pytest.approx(body["total_tce"])
    header, *lines = list(book["Energy"].iter_rows(values_only=True))
    assert header[:3] == ("carrier", "unit", "amount")
    assert {r[0]: r[2] for r in lines} == {"electricity": pytest.approx(KWH), "natural_gas": 0}
    [dc] = list(book["Data centres"].iter_rows(min_row=2, values_only=True))
    assert (dc[0], dc[2]) == ("dc-1", 1.25)


def test_the_district_summary_ranks_enterprises_and_adds_up(fed: ApiHarness) -> None:
    _budget(fed, ENT_B, "", 10, "tce")
    resp = fed.client.get(
        "/api/v1/reports/district/monthly", params={"month": MONTH}, headers=fed.as_("officer")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    a = _report(fed, "officer").json()  # type: ignore[attr-defined]
    assert [e["enterprise"] for e in body["enterprises"]] == [ENT_A, ENT_B]  # ranked by tce
    first, second = body["enterprises"]
    assert first["electricity_kwh"] == pytest.approx(KWH)
    assert first["tce"] == pytest.approx(a["total_tce"])
    assert (second["tce"], second["budget_state"], second["budget_share_used"]) == (0, "ok", 0)
    assert body["total_tce"] == pytest.approx(a["total_tce"])
    assert {t["town"]: t["enterprises"] for t in body["towns"]} == {"Zhangjiawo": 1, "Jingwu": 1}
    assert {(d["enterprise"], d["site"]) for d in body["data_centres"]} == {
        (ENT_A, "dc-1"),
        (ENT_B, "dc-b"),
    }
    assert any("GB/T 2589-2020" in s for s in body["sources"])

    table = fed.client.get(
        "/api/v1/reports/district/monthly",
        params={"month": MONTH, "format": "csv"},
        headers=fed.as_("officer"),
    )
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["enterprise"] for r in rows] == [ENT_A, ENT_B]
    assert float(rows[0]["tce"]) == pytest.approx(first["tce"])
    book = load_workbook(
        io.BytesIO(
            fed.client.get(
                "/api/v1/reports/district/monthly",
                params={"month": MONTH, "format": "xlsx"},
                headers=fed.as_("officer"),
            ).content
        )
    )
    assert book.sheetnames == ["Enterprises", "Towns", "Data centres", "Sources"]


@pytest.mark.parametrize("fmt", ["json", "csv", "xlsx"])
def test_reports_stay_within_the_tenant(api: ApiHarness, fmt: str) -> None:
    params = {"month": MONTH, "format": fmt}
    other = api.client.get(
        f"/api/v1/reports/enterprises/{ENT_A}/monthly", params=params, headers=api.as_("ent_b")
    )
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    district = api.client.get(
        "/api/v1/reports/district/monthly", params=params, headers=api.as_("ent_a")
    )
    assert district.status_code == 403
    bad = api.client.get(
        f"/api/v1/reports/enterprises/{ENT_A}/monthly",
        params={"month": "2026-13"},
        headers=api.as_("ent_a"),
    )
    assert bad.status_code == 422
    year_zero = api.client.get(
        f"/api/v1/reports/enterprises/{ENT_A}/monthly",
        params={"month": "0000-01"},
        headers=api.as_("ent_a"),
    )
    assert year_zero.status_code == 400
    assert year_zero.headers["content-type"] == "application/problem+json"


def test_a_monthly_split_shows_the_months_allocation(fed: ApiHarness) -> None:
    with psycopg.connect(fed.db.libpq_url) as conn:
        conn.execute(
            "INSERT INTO budgets (enterprise_id, year, carrier, amount, unit, monthly) "
            "SELECT id, 2026, 'electricity', 1000000, 'kWh', '{\"11\": 5000, \"12\": 4000}' "
            "FROM enterprises WHERE code = %s",
            (ENT_A,),
        )
    body = _report(fed, "ent_a").json()  # type: ignore[attr-defined]
    lines = {b["period"]: b for b in body["budgets"]}
    assert set(lines) == {"2026", MONTH}
    assert (lines["2026"]["budget"], lines[MONTH]["budget"]) == (1_000_000, 5000)
    assert lines[MONTH]["used"] == pytest.approx(KWH)
    assert lines[MONTH]["state"] == "exceeded"
    assert lines["2026"]["state"] != "exceeded"


def test_a_month_before_every_known_coefficient_is_a_clear_422(api: ApiHarness) -> None:
    # found by the schema fuzz: the standard-coal factors start later than the calendar does
    resp = api.client.get(
        "/api/v1/reports/district/monthly",
        params={"month": "2001-06", "format": "json"},
        headers=api.as_("officer"),
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["type"].endswith("/no-coefficient")
    assert "2001-06-01" in resp.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/district/consumption",
        "/api/v1/district/energy",
        "/api/v1/enterprises/91120111MA05K8XX3E/consumption",
    ],
)
def test_instants_before_1970_are_a_clear_400_not_an_overflow(api: ApiHarness, path: str) -> None:
    # found by the schema fuzz: year 1 at +00:01 overflows when converted to UTC
    resp = api.client.get(
        path,
        params={"from": "0001-01-01T00:00:00+00:01", "to": "0001-01-02T00:00:00+00:01"},
        headers=api.as_("officer"),
    )
    assert resp.status_code == 400, resp.text
    assert "between 1970 and 2100" in resp.json()["detail"]


def test_the_district_report_and_district_energy_give_the_same_total_to_the_last_digit(
    fed: ApiHarness,
) -> None:
    # A: 8,928 kWh = 1.0972512 tce; B: 528 kWh = 0.0648912 tce. Rounded one by one they add
    # up to 1.1622; summed first and rounded once, 1.1621 — which both answers must give.
    feed(fed, "B-1", 5.5)
    engine = make_engine(fed.db)
    catch_up(engine)
    engine.dispose()
    report = fed.client.get(
        "/api/v1/reports/district/monthly", params={"month": MONTH}, headers=fed.as_("officer")
    ).json()
    energy = fed.client.get(
        "/api/v1/district/energy",
        params={"from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"},
        headers=fed.as_("officer"),
    ).json()
    assert report["total_tce"] == energy["total_tce"] == 1.1621
    assert report["total_tco2"] == energy["total_tco2"] == 5.959
    assert sorted(e["tce"] for e in report["enterprises"]) == [0.0649, 1.0973]

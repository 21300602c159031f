"""The data-quality report through the API: the district ranked worst first for officers, an
enterprise's own report for its account, the same figures as CSV and XLSX."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.quality_scene import seed_quality_day

DAY = {"period": "2026-11-17"}


@pytest.fixture
def seeded(api: ApiHarness) -> ApiHarness:
    seed_quality_day(api.db)
    return api


def test_officers_see_the_district_ranked_worst_first_with_its_findings(seeded: ApiHarness) -> None:
    resp = seeded.client.get("/api/v1/quality/district", params=DAY, headers=seeded.as_("officer"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["start"], body["end"]) == (
        "2026-11-17T00:00:00+08:00",
        "2026-11-18T00:00:00+08:00",
    )
    a, b = body["enterprises"]
    assert (a["rank"], a["enterprise"], b["enterprise"]) == (1, ENT_A, ENT_B)
    assert (b["completeness"], b["findings"]) == (1.0, 0)
    # M-100, F-1, F-2, DC-IN-1 complete, DC-IT-1 49 of 96 intervals; G-1 never reported and has
    # no commissioned date in the registry: it owes its 96 and delivered none
    assert a["completeness"] == round((4 * 96 + 49) / (6 * 96), 4)
    assert (a["silent_meters"], a["balance_deviations"], a["conflicts"]) == (2, 1, 1)
    assert (a["late_readings"], a["dead_letters"], a["inconsistent_points"]) == (1, 1, 0)
    assert body["unattributed_dead_letters"] == {"invalid_topic": 1}


def test_an_enterprise_report_names_what_is_wrong(seeded: ApiHarness) -> None:
    resp = seeded.client.get(
        f"/api/v1/quality/enterprises/{ENT_A}", params=DAY, headers=seeded.as_("ent_a")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    points = {(p["meter"], p["quantity"]): p for p in body["points"]}
    m100 = points[("M-100", "energy_import_kwh")]
    assert (m100["expected_intervals"], m100["measured_intervals"]) == (96, 96)
    assert (m100["completeness"], m100["conflicts"], m100["days_consistent"]) == (1.0, 1, True)
    it = points[("DC-IT-1", "energy_import_kwh")]
    # readings 00:00-11:45 and the late 12:00 one: 49 of 96 intervals hold data
    assert (it["measured_intervals"], it["completeness"]) == (49, round(49 / 96, 4))
    assert (it["late_readings"], it["worst_delay_s"], it["silent"]) == (1, 7200.0, True)
    assert points[("G-1", "gas_volume_m3")]["expected_intervals"] == 96
    silent = {s["meter"]: s["since"] for s in body["silent_meters"]}
    assert silent == {"DC-IT-1": "2026-11-17T12:00:00+08:00", "G-1": None}
    [balance] = body["balances"]
    assert (balance["meter"], balance["sub_meters"], balance["verdict"]) == (
        "M-100",
        ["F-1", "F-2"],
        "deviation",
    )
    assert (balance["parent"], balance["sub_meters_total"], balance["deviation"]) == (
        7680.0,
        7200.0,
        0.0625,
    )
    [conflict] = body["conflicts"]
    assert (conflict["ts"], conflict["new_value"], conflict["source"]) == (
        "2026-11-17T10:00:00+08:00",
        99.0,
        "mqtt",
    )
    assert conflict["first_value"] == 1040.0  # the 41st reading: 1000 + 40
    assert body["dead_letters"] == {"unknown_meter": 1}
    sites = {s["site"]: s["completeness"] for s in body["sites"]}
    # plant-1: M-100, F-1, F-2 complete, G-1 owes 96 and sent nothing
    assert sites == {"plant-1": 0.75, "dc-1": round((96 + 49) / 192, 4)}


def test_tenancy_enterprises_see_only_their_own_and_not_the_district(seeded: ApiHarness) -> None:
    other = seeded.client.get(
        f"/api/v1/quality/enterprises/{ENT_B}", params=DAY, headers=seeded.as_("ent_a")
    )
    assert other.status_code == 404
    district = seeded.client.get(
        "/api/v1/quality/district", params=DAY, headers=seeded.as_("ent_a")
    )
    assert district.status_code == 403
    bad = seeded.client.get(
        "/api/v1/quality/district", params={"period": "2026-11-31"}, headers=seeded.as_("officer")
    )
    assert bad.status_code == 400


def test_csv_and_xlsx_carry_the_json_figures(seeded: ApiHarness) -> None:
    url = f"/api/v1/quality/enterprises/{ENT_A}"
    body = seeded.client.get(url, params=DAY, headers=seeded.as_("officer")).json()
    resp = seeded.client.get(url, params={**DAY, "format": "csv"}, headers=seeded.as_("officer"))
    assert resp.status_code == 200
    assert f"energymon-quality-{ENT_A}-2026-11-17.csv" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.text)))
    summary = {r[1]: r[2] for r in rows if r[0] == "Summary"}
    assert float(summary["completeness"]) == body["completeness"]
    assert len([r for r in rows if r[0] == "Points"]) == len(body["points"])

    xlsx = seeded.client.get(
        "/api/v1/quality/district", params={**DAY, "format": "xlsx"}, headers=seeded.as_("officer")
    )
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == [
        "Enterprises",
        "Points",
        "Balance",
        "Conflicts",
        "Unattributed dead letters",
    ]
    ranking = list(book["Enterprises"].iter_rows(min_row=2, values_only=True))
    assert [r[1] for r in ranking] == [ENT_A, ENT_B]
    [balance] = list(book["Balance"].iter_rows(min_row=2, values_only=True))
    assert (balance[0], balance[-2], balance[-3]) == (ENT_A, "deviation", 0.0625)

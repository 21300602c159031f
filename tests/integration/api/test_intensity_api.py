"""The intensity routes: an enterprise's figures traced to meters, entries and the quota clause;
the district aggregate against its target; the rankings with insufficient data apart; the quota
violations."""

from __future__ import annotations

import pytest

from services.core.settings import IntensitySettings
from tests.integration.api.conftest import ApiHarness
from tests.support.intensity import ENT_A, ENT_B, november_figures

NOV_QUERY = {"year": 2026, "month": 11}


@pytest.fixture
def api_config_extra() -> dict[str, object]:
    return {"intensity": IntensitySettings(target_decline=0.03)}


@pytest.fixture
def figures(api: ApiHarness) -> ApiHarness:
    """November 2026 and 2025 fed; A's hot metal over its GB 21256-2025 limit this year (70 t:
    429.5 kgce/t > 415), value added for both enterprises both years; B's cold storage has no
    output entered (insufficient data)."""
    november_figures(api.db)
    return api


def test_an_enterprise_sees_its_products_traced_to_meters_entries_and_the_quota_clause(
    figures: ApiHarness,
) -> None:
    resp = figures.client.get(
        f"/api/v1/enterprises/{ENT_A}/intensity", params=NOV_QUERY, headers=figures.as_("ent_a")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    product = body["products"][0]
    assert product["code"] == "hot-metal"
    # (2880 x 80 x 0.1229 + 2880 x 0.5 x 1.2143) kgce / 70 t
    assert product["current"]["value"] == pytest.approx(30_064.752 / 70, abs=1e-4)
    assert product["current"]["unit"] == "kgce/t"
    assert {c["carrier"] for c in product["current"]["carriers"]} == {"electricity", "natural_gas"}
    assert product["current"]["production"][0]["entered_by"] == "clerk@example.org"
    assert {a["meter"] for a in product["attribution"]} == {"M-100", "G-1"}
    quota = product["quota"]
    assert quota["verdict"] == "over_limit"
    assert quota["clause"] == "GB 21256-2025 4.3, Table 3, grade 3"
    assert quota["judged_against"] == 415
    # a fifth less energy last year on 100 t: 375.8 kgce/t; now 429.5: up 14.3 %
    assert product["yoy"]["change"] == pytest.approx(
        (30_064.752 / 70) / (30_064.752 * 1.25 / 100) - 1, abs=1e-4
    )
    va = body["value_added"]
    assert va["current"]["unit"] == "tce/10^4 CNY"
    assert va["yoy"]["change"] == pytest.approx(-0.2)
    other = figures.client.get(
        f"/api/v1/enterprises/{ENT_B}/intensity", params=NOV_QUERY, headers=figures.as_("ent_a")
    )
    assert other.status_code == 404


def test_the_district_aggregate_is_judged_against_the_configured_target(
    figures: ApiHarness,
) -> None:
    body = figures.client.get(
        "/api/v1/district/intensity", params=NOV_QUERY, headers=figures.as_("officer")
    ).json()
    assert body["enterprises"] == 2
    assert body["compared"] == 2
    # every meter used a fifth less this year on the same value added: a 20 % decline
    assert body["decline"] == pytest.approx(0.2)
    assert body["target_decline"] == 0.03
    assert body["target_met"] is True
    assert "target met" in body["text"]


def test_the_ranking_lists_insufficient_data_apart_and_violations_name_the_clause(
    figures: ApiHarness,
) -> None:
    officer = figures.as_("officer")
    ranking = figures.client.get(
        "/api/v1/district/intensity/ranking",
        params={**NOV_QUERY, "by": "quota_distance"},
        headers=officer,
    ).json()
    assert [(r["rank"], r["product"]) for r in ranking["ranked"]] == [(1, "hot-metal")]
    assert [r["product"] for r in ranking["insufficient"]] == ["cold"]
    assert ranking["insufficient"][0]["quota_verdict"] == "no_quota"
    by_intensity = figures.client.get(
        "/api/v1/district/intensity/ranking", params=NOV_QUERY, headers=officer
    ).json()
    # A: 30.77 tce / 50 = 0.6155 tce/10^4 CNY; B: 0.354 tce / 5 = 0.0708
    assert [(r["rank"], r["enterprise"]) for r in by_intensity["ranked"]] == [
        (1, ENT_A),
        (2, ENT_B),
    ]
    assert by_intensity["ranked"][0]["value"] == pytest.approx(
        2880 * 10.68495 / 1000 / 50, abs=1e-4
    )
    assert by_intensity["insufficient"] == []
    violations = figures.client.get(
        "/api/v1/district/quota-violations", params=NOV_QUERY, headers=officer
    ).json()
    assert len(violations) == 1
    v = violations[0]
    assert (v["enterprise"], v["product"], v["limit"], v["standard"]) == (
        ENT_A,
        "hot-metal",
        415,
        "GB 21256-2025",
    )
    assert v["clause"] == "GB 21256-2025 4.3, Table 3, grade 3"
    assert v["text"].startswith("over the limit")
    refused = figures.client.get(
        "/api/v1/district/quota-violations", params=NOV_QUERY, headers=figures.as_("ent_a")
    )
    assert refused.status_code == 403


def test_a_year_without_a_month_is_a_clear_error(figures: ApiHarness) -> None:
    resp = figures.client.get(
        f"/api/v1/enterprises/{ENT_A}/intensity",
        params={"year": 2026},
        headers=figures.as_("ent_a"),
    )
    assert resp.status_code == 400
    assert "give both year and month" in resp.json()["detail"]

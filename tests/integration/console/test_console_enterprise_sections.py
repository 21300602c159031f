"""The enterprise page's consumption (15 minutes to years, per carrier), demand-response and
data-quality sections, and the district data-quality screen: the same figures as the JSON API
gives for the same window, and the same tenancy (another enterprise's sections are 404)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.api.console.pages.series import RESOLUTIONS, label, window
from tests.integration.api.conftest import ApiHarness, shed_load
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.tables import read_page

Clients = Callable[[str | None], httpx.Client]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def event_day(api: ApiHarness) -> tuple[datetime, datetime]:
    """M-100 read every 15 minutes from ten days ago until now, 80 kWh a quarter hour (counter
    step 1.0 times the multiplier 80) except 40 kWh during an event from 18:00 to 19:00 two days
    ago (local); returns the event's window."""
    now = datetime.now(UTC)
    day = now.astimezone(SHANGHAI).date() - timedelta(days=2)
    event = (
        datetime(day.year, day.month, day.day, 18, tzinfo=SHANGHAI),
        datetime(day.year, day.month, day.day, 19, tzinfo=SHANGHAI),
    )
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) - timedelta(days=9)
    shed_load(api, start, now - timedelta(minutes=15), event)
    return event


def _api_ranges(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) cut at local new years when it is longer than the API's 400 days."""
    if end - start <= timedelta(days=400):
        return [(start, end)]
    local = start.astimezone(SHANGHAI)
    years = range(local.year, end.astimezone(SHANGHAI).year)
    cuts = [datetime(y, 1, 1, tzinfo=SHANGHAI) for y in years]
    return [(a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]


def _number(text: str) -> float:
    return float(unescape(text).replace(",", "").strip())


def _figures(html: str) -> dict[str, float]:
    table = read_page(html).tables["consumption-figures"]
    return {row[0]: _number(row[1]) for row in table.rows}


@pytest.mark.parametrize("resolution", RESOLUTIONS)
def test_the_consumption_section_shows_the_apis_figures_at_each_resolution(
    browser_like: Clients, api: ApiHarness, event_day: tuple[datetime, datetime], resolution: str
) -> None:
    officer = browser_like("officer")
    resp = officer.get(
        f"/console/enterprises/{ENT_A}/consumption",
        params={"resolution": resolution, "carrier": "electricity"},
    )
    assert resp.status_code == 200, resp.text[:300]
    shown = _figures(resp.text)
    start, end = window(resolution, datetime.now(UTC), SHANGHAI)
    expected = {}
    for lo, hi in _api_ranges(start, end):  # the API answers at most 400 days at a time
        answer = api.client.get(
            f"/api/v1/enterprises/{ENT_A}/consumption",
            params={"from": lo.isoformat(), "to": hi.isoformat(), "interval": resolution},
            headers=api.as_("officer"),
        )
        assert answer.status_code == 200, answer.text
        for r in answer.json():
            if r["carrier"] == "electricity":
                at = datetime.fromisoformat(r["period"]).astimezone(SHANGHAI)
                expected[label(at, resolution)] = r["amount"]
    assert expected, "the feed must reach every window"
    assert shown.keys() == expected.keys()
    for period, amount in expected.items():
        assert shown[period] == pytest.approx(amount, abs=0.001), period


def test_the_carrier_switch_and_a_full_page_fallback(
    browser_like: Clients, event_day: tuple[datetime, datetime]
) -> None:
    officer = browser_like("officer")
    page = officer.get(f"/console/enterprises/{ENT_A}", params={"resolution": "1h"})
    assert page.status_code == 200
    section = page.text.split('id="consumption"', 1)[1].split("</section>", 1)[0]
    assert 'data-resolution="1h" aria-current="true"' in section
    assert 'data-carrier="natural_gas"' in section  # G-1: a second carrier to switch to
    # every hour of the last 7 days; the current one only once a reading has arrived in it
    assert len(_figures(page.text)) in (167, 168)
    gas = officer.get(
        f"/console/enterprises/{ENT_A}/consumption",
        params={"resolution": "1d", "carrier": "natural_gas"},
    )
    assert 'data-carrier="natural_gas" aria-current="true"' in gas.text
    assert "consumption-figures" not in gas.text  # G-1 sent nothing
    unknown = officer.get(
        f"/console/enterprises/{ENT_A}/consumption", params={"carrier": "no-such-carrier"}
    )
    assert 'data-carrier="electricity" aria-current="true"' in unknown.text
    bad = officer.get(f"/console/enterprises/{ENT_A}/consumption", params={"resolution": "5m"})
    assert bad.status_code == 422


def test_another_enterprises_sections_are_404_for_an_enterprise_account(
    browser_like: Clients,
) -> None:
    ent_a = browser_like("ent_a")
    assert ent_a.get(f"/console/enterprises/{ENT_A}/consumption").status_code == 200
    for page in [
        f"/console/enterprises/{ENT_B}/consumption",
        f"/console/enterprises/{ENT_B}/quality?format=csv",
    ]:
        assert ent_a.get(page).status_code == 404, page
    assert ent_a.get("/console/quality").status_code == 403
    assert ent_a.get("/console/quality/report?format=csv").status_code == 403


def test_the_demand_section_shows_the_event_result_and_this_months_peak(
    browser_like: Clients, api: ApiHarness, event_day: tuple[datetime, datetime]
) -> None:
    start, end = event_day
    created = api.client.post(
        "/api/v1/demand-response/events",
        json={"name": "evening peak", "start": start.isoformat(), "end": end.isoformat()},
        headers=api.as_("officer"),
    )
    assert created.status_code == 201, created.text
    page = browser_like("ent_a").get(f"/console/enterprises/{ENT_A}").text
    (row,) = read_page(page).tables["dr-results"].rows
    # baseline 320 kW (80 kWh a quarter hour), actual 160 kW, reduction 160 kW = 50 % of peak
    assert row[0] == "evening peak"
    assert [_number(c) for c in row[3:6]] == [320.0, 160.0, 160.0]
    assert row[6].startswith("50")
    now = datetime.now(UTC)
    month_start = datetime(now.astimezone(SHANGHAI).year, now.astimezone(SHANGHAI).month, 1)
    peak = api.client.get(
        f"/api/v1/enterprises/{ENT_A}/peak-demand",
        params={"from": month_start.replace(tzinfo=SHANGHAI).isoformat(), "to": now.isoformat()},
        headers=api.as_("officer"),
    ).json()
    if peak["peak_kw"] is None:
        assert "Peak demand this month" not in page
        assert "本月最大需量" not in page
    else:
        assert f"{peak['peak_kw']:,.1f}" in page


def test_the_quality_section_and_screen_agree_with_the_quality_report(
    browser_like: Clients, api: ApiHarness, event_day: tuple[datetime, datetime]
) -> None:
    officer = browser_like("officer")
    report = api.client.get(
        f"/api/v1/quality/enterprises/{ENT_A}", headers=api.as_("officer")
    ).json()
    page = officer.get(f"/console/enterprises/{ENT_A}").text
    section = page.split('id="quality"', 1)[1].split("</section>", 1)[0]
    assert report["period"] in section
    assert f"{round(report['completeness'] * 100)}" in section
    for silent in report["silent_meters"]:
        assert f">{silent['meter']}</a>" in section  # linked to the meter's page
    month = event_day[0].strftime("%Y-%m")
    mine = officer.get(
        f"/console/enterprises/{ENT_A}/quality", params={"period": month, "format": "csv"}
    )
    theirs = api.client.get(
        f"/api/v1/quality/enterprises/{ENT_A}",
        params={"period": month, "format": "csv"},
        headers=api.as_("officer"),
    )
    assert mine.status_code == theirs.status_code == 200
    assert mine.text == theirs.text
    screen = officer.get("/console/quality", params={"period": month})
    assert screen.status_code == 200
    district = api.client.get(
        "/api/v1/quality/district", params={"period": month}, headers=api.as_("officer")
    ).json()
    ranking = read_page(screen.text).tables["quality-ranking"]
    assert [r[1] for r in ranking.rows] == [e["name"] for e in district["enterprises"]]
    assert officer.get("/console/quality", params={"period": "2026-13"}).status_code == 422

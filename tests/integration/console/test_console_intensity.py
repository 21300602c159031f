"""The intensity screen and an enterprise's intensity and production section: the over-quota
plant marked with its standard's clause, insufficient data set apart with the reason, officers
only; month locks set and lifted with a reason and the CSRF token, by officers only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import httpx
import pytest

from services.core.settings import IntensitySettings
from tests.integration.api.conftest import ApiHarness
from tests.integration.console.conftest import csrf_of
from tests.support.intensity import ENT_A, ENT_B, SHANGHAI, enter, november_figures

Clients = Callable[[str | None], httpx.Client]
CLAUSE = "GB 21256-2025 4.3, Table 3, grade 3"


@pytest.fixture
def api_config_extra() -> dict[str, object]:
    return {"intensity": IntensitySettings(target_decline=0.03)}


@pytest.fixture
def figures(api: ApiHarness) -> ApiHarness:
    """November 2026 and 2025: A's hot metal over its GB 21256-2025 limit (429.5 > 415 kgce/t);
    B's cold storage without output (insufficient data)."""
    november_figures(api.db)
    return api


def _english(client: httpx.Client) -> httpx.Client:
    client.cookies.set("energymon_lang", "en", path="/console")
    return client


def test_the_intensity_screen_marks_the_over_quota_plant_with_its_clause(
    figures: ApiHarness, browser_like: Clients
) -> None:
    officer = _english(browser_like("officer"))
    page = officer.get("/console/intensity", params={"month": "2026-11"})
    assert page.status_code == 200, page.text[:300]
    over = page.text[page.text.index('id="over-quota"') : page.text.index('id="ranking"')]
    assert f'<tr class="over" data-enterprise="{ENT_A}">' in over
    assert CLAUSE in over
    assert "over the limit (429." in over
    assert ENT_B not in over
    assert "target: 3.0 % decline" in page.text
    assert "target met" in page.text
    by_quota = officer.get(
        "/console/intensity", params={"month": "2026-11", "by": "quota_distance"}
    ).text
    apart = by_quota[by_quota.index('id="intensity-apart"') :]
    assert f'data-enterprise="{ENT_B}"' in apart  # cold storage: no quota, not ranked
    assert "cold" in apart


@pytest.mark.parametrize("api_config_extra", [{}])
def test_the_district_screen_says_when_no_target_is_set(
    api: ApiHarness, browser_like: Clients
) -> None:
    page = _english(browser_like("officer")).get("/console/intensity").text
    assert "no target set" in page


def test_an_enterprise_account_may_not_open_the_district_intensity_screen(
    browser_like: Clients,
) -> None:
    assert browser_like("ent_a").get("/console/intensity").status_code == 403


def test_the_enterprise_page_shows_its_products_verdicts_and_value_added_intensity(
    figures: ApiHarness, browser_like: Clients
) -> None:
    ent_a = _english(browser_like("ent_a"))
    page = ent_a.get(f"/console/enterprises/{ENT_A}", params={"month": "2026-11"}).text
    section = page[page.index('id="intensity"') : page.index('id="production"')]
    assert '<tr class="over" data-product="hot-metal">' in section
    assert CLAUSE in section
    assert "tce/10^4 CNY" in section
    production = page[page.index('id="production"') : page.index('id="meters"')]
    assert "clerk@example.org" in production
    assert "hot-metal" in production
    assert "<form" not in production  # locks are the officers'


def _recent_month(api: ApiHarness) -> str:
    """A month the production section lists: last month, with a value added entered."""
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    index = today.year * 12 + today.month - 2
    month = date(index // 12, index % 12 + 1, 1)
    enter(api.db, ENT_A, month, 42.0)
    return f"{month:%Y-%m}"


def _lock(client: httpx.Client, month: str, action: str, reason: str, **headers: str) -> str:
    resp = client.post(
        f"/console/enterprises/{ENT_A}/production/locks/{month}",
        data={"action": action, "reason": reason},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text[:300]
    return resp.text


def test_an_officer_locks_and_unlocks_a_month_with_a_reason(
    api: ApiHarness, browser_like: Clients
) -> None:
    month = _recent_month(api)
    officer = _english(browser_like("officer"))
    token = {"X-CSRF-Token": csrf_of(officer)}
    refused = _lock(officer, month, "lock", "  ", **token)
    assert "Give a reason" in refused
    assert f'data-month="{month}" class="locked"' not in refused
    locked = _lock(officer, month, "lock", "reviewed with the plant", **token)
    assert f'data-month="{month}" class="locked"' in locked
    assert "locked by officer" in locked
    again = _lock(officer, month, "lock", "twice", **token)
    assert "is already locked" in again
    history = api.client.get(
        f"/api/v1/enterprises/{ENT_A}/production/history", headers=api.as_("officer")
    ).json()
    assert [(h["action"], h["reason"]) for h in history][-1] == (
        "locked",
        "reviewed with the plant",
    )
    unlocked = _lock(officer, month, "unlock", "correction requested", **token)
    assert f'data-month="{month}" class="locked"' not in unlocked
    assert "correction requested" in unlocked  # in the history


def test_locking_needs_the_csrf_token_and_an_officer(
    api: ApiHarness, browser_like: Clients
) -> None:
    month = _recent_month(api)
    officer = browser_like("officer")
    resp = officer.post(
        f"/console/enterprises/{ENT_A}/production/locks/{month}",
        data={"action": "lock", "reason": "no token"},
    )
    assert resp.status_code == 403
    ent_a = browser_like("ent_a")
    resp = ent_a.post(
        f"/console/enterprises/{ENT_A}/production/locks/{month}",
        data={"action": "lock", "reason": "my own"},
        headers={"X-CSRF-Token": csrf_of(ent_a)},
    )
    assert resp.status_code == 403
    locks = api.client.get(
        f"/api/v1/enterprises/{ENT_A}/production/history", headers=api.as_("officer")
    ).json()
    assert [h for h in locks if h["action"] == "locked"] == []

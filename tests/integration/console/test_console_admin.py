"""The registry upload: validated with the problem's line before anything changes, a dry run
that says what applying would change (row by row, each field old -> new), then the apply; admins
only, with the CSRF token."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.integration.api.conftest import ApiHarness
from tests.integration.console.conftest import csrf_of

Clients = Callable[[str | None], httpx.Client]
NEW_ENTERPRISE = """\
enterprises:
  - code: 91120111MA07XK4G1Y
    name: Xinkou Glassworks
    industry: C30
    town: Xinkou
    sites:
      - code: plant-1
        meters:
          - {code: GL-1, carrier: electricity, protocol: http, points: [energy_import_kwh]}
"""
BAD_CARRIER = NEW_ENTERPRISE.replace("carrier: electricity", "carrier: moonlight")


def _upload(client: httpx.Client, text: str, *, name: str = "district.yaml") -> httpx.Response:
    return client.post(
        "/console/admin/registry/check",
        files={"file": (name, text.encode(), "application/yaml")},
        data={"csrf_token": csrf_of(client)},
    )


def _enterprise_exists(api: ApiHarness) -> bool:
    resp = api.client.get("/api/v1/enterprises/91120111MA07XK4G1Y", headers=api.as_("officer"))
    return resp.status_code == 200


def test_an_invalid_file_is_refused_with_its_line_and_changes_nothing(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    resp = _upload(admin, BAD_CARRIER)
    assert resp.status_code == 422
    assert 'data-step="invalid"' in resp.text
    assert "第 9 行" in resp.text  # the meter's line, where the carrier is
    assert "carrier" in resp.text
    assert not _enterprise_exists(api)


def test_a_check_shows_what_would_change_and_changes_nothing_until_applied(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    checked = _upload(admin, NEW_ENTERPRISE)
    assert checked.status_code == 200
    assert 'data-step="checked"' in checked.text
    assert (
        '<tr data-table="enterprises" data-action="added"><td>企业</td><td>新增</td>'
        '<td class="n">1</td>'
    ) in checked.text
    assert not _enterprise_exists(api)
    applied = admin.post(
        "/console/admin/registry/apply",
        data={"document": NEW_ENTERPRISE, "name": "district.yaml", "csrf_token": csrf_of(admin)},
    )
    assert 'data-step="applied"' in applied.text
    assert _enterprise_exists(api)
    again = _upload(admin, NEW_ENTERPRISE)
    assert "不会发生任何变更" in again.text  # applying it twice changes nothing


def test_only_admins_with_the_csrf_token_may_upload(browser_like: Clients, api: ApiHarness) -> None:
    assert browser_like("officer").get("/console/admin/registry").status_code == 403
    assert _upload(browser_like("officer"), NEW_ENTERPRISE).status_code == 403
    admin = browser_like("admin")
    assert admin.get("/console/admin/registry").status_code == 200
    forged = admin.post(
        "/console/admin/registry/apply", data={"document": NEW_ENTERPRISE, "csrf_token": "x"}
    )
    assert forged.status_code == 403
    assert not _enterprise_exists(api)


CHANGED = (
    NEW_ENTERPRISE.replace("Xinkou Glassworks", "Xinkou Float Glass")
    .replace("protocol: http, points", "protocol: http, multiplier: 40, points")
    .replace(
        "        meters:\n",
        "        meters:\n"
        "          - {code: GL-2, carrier: natural_gas, protocol: http, points: [gas_volume_m3]}\n",
    )
)


def _diff_rows(page: str) -> dict[tuple[str, str, str], list[tuple[str, str, str]]]:
    """(table, row, action) -> [(field, before, after)] as the page's diff table lists them."""
    rows: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    table = page.split('<table class="data" id="diff">')[1].split("</table>", maxsplit=1)[0]
    for body in table.split("<tbody ")[1:]:
        head = body.split(">")[0]
        attrs = dict(part.split("=", 1) for part in head.replace('"', "").split() if "=" in part)
        fields = []
        for tr in body.split("<tr data-field=")[1:]:
            name = tr.split('"')[1]
            old = tr.split('<td class="old">')[1].split("</td>")[0]
            new = tr.split('<td class="new">')[1].split("</td>")[0]
            fields.append((name, old, new))
        rows[(attrs["data-table"], attrs["data-row"], attrs["data-action"])] = fields
    return rows


def test_a_check_lists_each_changed_field_old_and_new_and_applies_only_on_confirmation(
    browser_like: Clients, api: ApiHarness
) -> None:
    admin = browser_like("admin")
    admin.post(
        "/console/admin/registry/apply",
        data={"document": NEW_ENTERPRISE, "csrf_token": csrf_of(admin)},
    ).raise_for_status()
    checked = _upload(admin, CHANGED)
    assert checked.status_code == 200, checked.text[:300]
    rows = _diff_rows(checked.text)
    code = "91120111MA07XK4G1Y"
    assert rows[("enterprises", code, "changed")] == [
        ("name", "Xinkou Glassworks", "Xinkou Float Glass")
    ]
    assert rows[("meters", f"{code}/GL-1", "changed")] == [("multiplier", "1", "40")]
    added = {f: new for f, _, new in rows[("meters", f"{code}/GL-2", "added")]}
    assert added["carrier"] == "natural_gas"
    assert added["site"] == "plant-1"
    assert ("points", f"{code}/GL-2/gas_volume_m3", "added") in rows
    assert not any(action == "removed" for _, _, action in rows)
    # nothing is applied before the admin confirms
    resp = api.client.get(f"/api/v1/enterprises/{code}", headers=api.as_("officer"))
    assert resp.json()["name"] == "Xinkou Glassworks"

    applied = admin.post(
        "/console/admin/registry/apply",
        data={"document": CHANGED, "csrf_token": csrf_of(admin)},
    )
    assert 'data-step="applied"' in applied.text
    assert ("meters", f"{code}/GL-1", "changed") in _diff_rows(applied.text)
    back = _diff_rows(_upload(admin, NEW_ENTERPRISE).text)
    assert back[("meters", f"{code}/GL-2", "removed")] == []
    assert back[("meters", f"{code}/GL-1", "changed")] == [("multiplier", "40", "1")]

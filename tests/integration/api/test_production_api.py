"""Production figures over HTTP: submissions (JSON and files), revisions with history, month locks,
refusals that list every bad row, exports, and the district's missing months."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from services.core.db import make_engine
from tests.integration.api.conftest import ApiHarness
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.production import add_products

ZONE = ZoneInfo("Asia/Shanghai")
THIS_MONTH = datetime.now(UTC).astimezone(ZONE).date().replace(day=1)
LAST = (THIS_MONTH - timedelta(days=1)).replace(day=1)  # a month that is over
EARLIER = (LAST - timedelta(days=1)).replace(day=1)  # due on a day that has passed
PRODUCTION = f"/api/v1/enterprises/{ENT_A}/production"


@pytest.fixture
def api_p(api: ApiHarness) -> ApiHarness:
    """The API with products: A makes steel and castings, B ice (all registered last year)."""
    engine = make_engine(api.db)
    add_products(
        engine,
        [
            (ENT_A, "steel", "crude steel", "t"),
            (ENT_A, "castings", "grey iron castings", "t"),
            (ENT_B, "ice", "ice blocks", "t"),
        ],
        registered=datetime(THIS_MONTH.year - 1, 1, 1, tzinfo=UTC),
    )
    engine.dispose()
    return api


def _steel(month: date = LAST, output: float = 1250.5, **extra: Any) -> dict[str, Any]:
    return {"period": f"{month:%Y-%m}", "product": "steel", "output": output, "unit": "t", **extra}


def _post(api: ApiHarness, user: str, rows: Any, **params: str) -> httpx.Response:
    return api.client.post(PRODUCTION, json=rows, params=params, headers=api.as_(user))


def _upload(
    api: ApiHarness, name: str, content: bytes, media: str, user: str = "ent_a"
) -> httpx.Response:
    return api.client.post(
        f"{PRODUCTION}/upload",
        files={"file": (name, content, media)},
        data={"reason": "monthly return"},
        headers=api.as_(user),
    )


def test_a_month_submitted_twice_is_a_revision_with_history(api_p: ApiHarness) -> None:
    first = _post(api_p, "ent_a", [_steel()])
    assert first.status_code == 200, first.text
    assert (first.json()["created"], first.json()["entries"][0]["revision"]) == (1, 1)
    again = _post(api_p, "officer", [_steel(output=1310)], reason="weighbridge recount")
    body = again.json()
    assert (body["created"], body["revised"], body["unchanged"]) == (0, 1, 0)
    entry = body["entries"][0]
    assert (entry["value"], entry["revision"], entry["entered_by"]) == (1310.0, 2, "officer")
    assert entry["entered_at"].endswith("+08:00")
    listed = api_p.client.get(PRODUCTION, headers=api_p.as_("ent_a")).json()
    assert [(e["product"], e["value"], e["revision"]) for e in listed] == [("steel", 1310.0, 2)]
    history = api_p.client.get(f"{PRODUCTION}/history", headers=api_p.as_("ent_a")).json()
    assert [
        (h["action"], h["old_value"], h["new_value"], h["unit"], h["changed_by"], h["reason"])
        for h in history
    ] == [
        ("created", None, 1250.5, "t", "ent_a", None),
        ("revised", 1250.5, 1310.0, "t", "officer", "weighbridge recount"),
    ]
    same = _post(api_p, "ent_a", [_steel(output=1310)]).json()
    assert (same["revised"], same["unchanged"]) == (0, 1)


def test_an_upload_with_one_bad_row_stores_nothing_and_lists_it(api_p: ApiHarness) -> None:
    m = f"{LAST:%Y-%m}"
    csv = (
        "period,product,output,unit,value_added_10k_cny,price_base_year,comment\n"
        f"{m},steel,1250.5,t,,,\n"
        f"{m},castings,12.5,kt,,,\n"
        "\n"
        f"{m},,,,830,2020,statistics return\n"
    ).encode()
    resp = _upload(api_p, "production.csv", csv, "text/csv")
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["errors"] == [
        {"row": 3, "reason": "product castings is entered in t, not kt"}
    ]
    assert api_p.client.get(PRODUCTION, headers=api_p.as_("ent_a")).json() == []
    fixed = _upload(api_p, "production.csv", csv.replace(b",kt,", b",t,"), "text/csv")
    assert fixed.json()["created"] == 3, fixed.text


def test_an_xlsx_sheet_is_read_by_its_header_and_rows(api_p: ApiHarness) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["period", "product", "output", "unit"])
    sheet.append([f"{LAST:%Y-%m}", "steel", 1250.5, "t"])
    sheet.append([f"{LAST:%Y-%m}", "castings", -4, "t"])
    out = io.BytesIO()
    book.save(out)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = _upload(api_p, "production.xlsx", out.getvalue(), xlsx)
    assert resp.json()["errors"] == [{"row": 3, "reason": "output must be greater than 0, not -4"}]


@pytest.mark.parametrize(
    ("name", "content", "media", "status"),
    [
        ("production.pdf", b"%PDF-1.7", "application/pdf", 415),
        ("production.xlsx", b"not a workbook", "application/octet-stream", 400),
        ("production.csv", b"\xff\xfe\x00p", "text/csv", 400),
    ],
)
def test_a_file_of_another_type_or_unreadable_is_a_clear_error(
    api_p: ApiHarness, name: str, content: bytes, media: str, status: int
) -> None:
    resp = _upload(api_p, name, content, media)
    assert resp.status_code == status
    assert name in resp.json()["detail"]


def test_units_and_value_added_in_cny_are_refused_with_what_to_enter(api_p: ApiHarness) -> None:
    m = f"{LAST:%Y-%m}"
    resp = _post(
        api_p,
        "ent_a",
        [
            _steel(output=1.25, unit="kt"),
            {"period": m, "value_added_cny": 8_300_000, "price_base_year": 2020},
            {"period": m, "value_added_10k_cny": 830},
            {"period": f"{THIS_MONTH:%Y-%m}", "value_added_10k_cny": 830, "price_base_year": 2020},
        ],
    )
    assert resp.status_code == 422
    reasons = [(e["row"], e["reason"]) for e in resp.json()["errors"]]
    assert reasons[:2] == [
        (1, "product steel is entered in t, not kt"),
        (2, "value added is entered in 10^4 CNY in the field value_added_10k_cny, not "
            "value_added_cny"),
    ]  # fmt: skip
    assert reasons[2][1].startswith("price_base_year is required")
    assert reasons[3][1].startswith(f"period {THIS_MONTH:%Y-%m} is not over yet")


def test_a_locked_month_refuses_submissions_until_an_officer_unlocks_it(
    api_p: ApiHarness,
) -> None:
    lock_url = f"{PRODUCTION}/locks/{LAST:%Y-%m}"
    locked = api_p.client.post(lock_url, json={"reason": "audited"}, headers=api_p.as_("officer"))
    assert locked.status_code == 200, locked.text
    assert (locked.json()["locked"], locked.json()["locked_by"]) == (True, "officer")
    refused = _post(api_p, "ent_a", [_steel(EARLIER), _steel()])
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(f"month {LAST:%Y-%m} is locked (by officer at ")
    assert refused.json()["locks"][0]["reason"] == "audited"
    assert api_p.client.get(PRODUCTION, headers=api_p.as_("ent_a")).json() == []
    twice = api_p.client.post(lock_url, json={"reason": "x"}, headers=api_p.as_("admin"))
    assert twice.status_code == 409
    unlocked = api_p.client.delete(
        lock_url, params={"reason": "correction"}, headers=api_p.as_("admin")
    )
    assert unlocked.json()["locked"] is False
    assert _post(api_p, "ent_a", [_steel()]).status_code == 200
    actions = [
        (h["action"], h["changed_by"], h["reason"])
        for h in api_p.client.get(f"{PRODUCTION}/history", headers=api_p.as_("officer")).json()
    ]
    assert actions == [
        ("locked", "officer", "audited"),
        ("unlocked", "admin", "correction"),
        ("created", "ent_a", None),
    ]


def test_figures_export_as_csv_and_xlsx_with_the_json_fields(api_p: ApiHarness) -> None:
    _post(api_p, "ent_a", [_steel(), _steel(EARLIER, output=990)])
    params = {"year": str(LAST.year), "month": f"{LAST:%Y-%m}", "format": "csv"}
    resp = api_p.client.get(PRODUCTION, params=params, headers=api_p.as_("ent_a"))
    lines = resp.text.splitlines()
    assert lines[0].startswith("enterprise,product,kind,period,period_start,value,unit,")
    assert len(lines) == 2
    assert ",steel,output,month," in lines[1]
    params["format"] = "xlsx"
    resp = api_p.client.get(PRODUCTION, params=params, headers=api_p.as_("ent_a"))
    sheet = load_workbook(io.BytesIO(resp.content)).worksheets[0]
    assert sheet.max_row == 2
    assert [c.value for c in sheet[2]][:7] == [
        ENT_A, "steel", "output", "month", datetime(LAST.year, LAST.month, 1), 1250.5, "t"
    ]  # fmt: skip


def test_missing_lists_enterprises_lacking_output_or_value_added_after_the_due_day(
    api_p: ApiHarness,
) -> None:
    m = f"{EARLIER:%Y-%m}"
    _post(
        api_p,
        "ent_a",
        [
            _steel(EARLIER),
            _steel(EARLIER, product="castings"),
            {"period": m, "value_added_10k_cny": 830, "price_base_year": 2020},
        ],
    )
    url = "/api/v1/district/production/missing"
    report = api_p.client.get(url, params={"month": m}, headers=api_p.as_("officer")).json()
    assert report["overdue"] is True
    assert [(e["enterprise"], e["products"], e["value_added"]) for e in report["enterprises"]] == [
        (ENT_B, ["ice"], True)
    ]
    current = api_p.client.get(
        url, params={"month": f"{THIS_MONTH:%Y-%m}"}, headers=api_p.as_("officer")
    ).json()
    assert (current["overdue"], current["enterprises"]) == (False, [])
    assert api_p.client.get(url, headers=api_p.as_("ent_a")).status_code == 403

"""Every console table downloads as XLSX with the rows the page shows: each screen's tables are
read from the HTML and from their files and compared cell by cell (numbers as numbers, printed
with the file's own number formats). The link keeps the page's filters and its tenancy: an
enterprise account never gets another enterprise's file, and officer-only tables answer 403.

One district is seeded for the whole module (a day of readings, budgets, November's production
figures, a month lock, an API key, a dead letter); no test here changes it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from services.api.users import create_api_key
from services.core.db import make_engine
from services.core.pipeline.model import Batch, DeadLetter, Reason
from services.core.pipeline.writer import ReadingWriter
from services.core.settings import DatabaseSettings
from tests.integration.api.conftest import ApiHarness, start_api
from tests.integration.conftest import ENT_A, ENT_B, provision_small_district
from tests.integration.console.conftest import feed_last_day, log_in
from tests.support import db as dbs
from tests.support.intensity import NOV, november_figures
from tests.support.tables import read_page, read_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (who, page): every screen with tables, as the user who may see it
SCREENS = [
    ("officer", "/console/"),
    ("ent_a", "/console/"),
    ("officer", "/console/data-centres?window=rolling_24h"),
    ("officer", f"/console/enterprises/{ENT_A}/data-centres/dc-1"),
    ("officer", "/console/budgets"),
    ("officer", "/console/alerts?state=all"),
    ("ent_a", "/console/alerts"),
    ("officer", "/console/enterprises"),
    ("officer", f"/console/enterprises/{ENT_A}?month=2026-11"),
    ("ent_a", f"/console/enterprises/{ENT_A}?month=2026-11"),
    ("officer", f"/console/enterprises/{ENT_A}/meters/M-100"),
    ("officer", "/console/intensity?month=2026-11&by=quota_distance"),
    ("admin", "/console/admin/users"),
    ("officer", "/console/quality?period=2026-11"),
    ("officer", f"/console/enterprises/{ENT_A}/consumption?resolution=1h"),
]


@pytest.fixture(scope="module")
def seeded(pg_server: str, template_db: str) -> Iterator[ApiHarness]:
    name = dbs.clone(pg_server, template_db)
    db = DatabaseSettings(url=dbs.with_database(pg_server, name), timescale="off")
    try:
        provision_small_district(db)
        # the rankings' projections move with the clock: one snapshot for the whole module, so
        # a page and its file are built from the same one (as within a snapshot period)
        with start_api(db, {"snapshot_ttl_s": 3600}) as api:
            november_figures(db)
            feed_last_day(api)
            _seed_lock_key_and_dead_letter(api)
            yield api
    finally:
        dbs.drop(pg_server, name)


def _seed_lock_key_and_dead_letter(api: ApiHarness) -> None:
    locked = api.client.post(
        f"/api/v1/enterprises/{ENT_A}/production/locks/{NOV:%Y-%m}",
        json={"reason": "checked with the plant"},
        headers=api.as_("officer"),
    )
    assert locked.status_code in (200, 201), locked.text
    engine = make_engine(api.db)
    with engine.begin() as conn:
        create_api_key(conn, "officer", "report robot")
    engine.dispose()
    letter = DeadLetter(
        source="mqtt",
        received_at=datetime.now(UTC) - timedelta(hours=1),
        topic=None,
        enterprise_code=ENT_A,
        gateway_code="gw-01",
        reading_index=None,
        reason=Reason.INVALID_JSON,
        detail="line 1: expected a value",
        payload=b"{x}",
        payload_size=3,
    )
    writer = ReadingWriter(api.db)
    writer.write(Batch(dead_letters=[letter]))
    writer.close()


@pytest.fixture(scope="module")
def clients(seeded: ApiHarness) -> Iterator[dict[str, httpx.Client]]:
    """One logged-in console client per user, for the module."""
    made = {}
    for user in ("officer", "admin", "ent_a"):
        client = httpx.Client(base_url=seeded.url, timeout=30, follow_redirects=False)
        assert log_in(client, user).status_code == 303
        made[user] = client
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize(("who", "page"), SCREENS)
def test_every_table_downloads_as_xlsx_with_the_rows_the_page_shows(
    clients: dict[str, httpx.Client], who: str, page: str
) -> None:
    client = clients[who]
    html = client.get(page)
    assert html.status_code == 200, html.text[:300]
    shown = read_page(html.text)
    assert shown.unnamed_tables == 0, "every table.data is a model table"
    assert shown.tables, page
    assert set(shown.exports) == set(shown.tables), "each table has its XLSX link"
    for name, table in shown.tables.items():
        resp = client.get(shown.exports[name])
        assert resp.status_code == 200, (name, resp.text[:300])
        assert resp.headers["content-type"] == XLSX
        assert resp.headers["cache-control"] == "no-store"
        got = read_xlsx(resp.content)
        assert got.title == table.label
        assert got.header == table.header, name
        assert got.rows == table.rows, name
        assert any(k in got.about for k in ("Generated at", "生成时间")), got.about
        for column, numeric in enumerate(table.numeric):
            if numeric:  # numbers stay numbers in the file
                values = [r[column] for r in got.cells if r[column] is not None]
                assert all(isinstance(v, int | float) for v in values), (name, column, values)


def test_the_tables_are_not_empty_where_the_seed_has_data(
    clients: dict[str, httpx.Client],
) -> None:
    """The comparison above means something: the seed fills the tables it should."""
    officer = clients["officer"]
    enterprise = read_page(officer.get(f"/console/enterprises/{ENT_A}?month=2026-11").text)
    for name in ("day-figures", "carrier-figures", "product-intensity", "month-locks"):
        assert enterprise.tables[name].rows, name
    assert enterprise.tables["production-entries"].rows
    assert enterprise.tables["production-history"].rows
    meter = read_page(officer.get(f"/console/enterprises/{ENT_A}/meters/M-100").text)
    assert meter.tables["readings-energy_import_kwh"].rows
    assert meter.tables["dead-letter-list"].rows
    users = read_page(clients["admin"].get("/console/admin/users").text)
    assert users.tables["key-list"].rows
    ranking = read_page(officer.get("/console/data-centres?window=rolling_24h").text)
    assert ranking.tables["pue-ranking"].rows


def test_a_file_names_itself_in_ascii_and_in_the_console_language(
    clients: dict[str, httpx.Client],
) -> None:
    resp = clients["officer"].get("/console/budgets?xlsx=budget-ranking")
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="energymon-budget-ranking-')
    utf8 = unquote(disposition.split("filename*=UTF-8''")[1])
    assert utf8.startswith("本年用能预算-") or utf8.startswith("Energy budgets this year-")
    assert utf8.endswith(".xlsx")
    sheet = read_xlsx(resp.content)
    assert "Asia/Shanghai" in sheet.about.get("生成时间", "")


def test_english_headers_follow_the_console_language(seeded: ApiHarness) -> None:
    with httpx.Client(base_url=seeded.url, timeout=30) as client:
        assert log_in(client, "officer").status_code == 303
        client.cookies.set("energymon_lang", "en", path="/console")
        got = read_xlsx(client.get("/console/budgets?xlsx=budget-ranking").content)
    assert got.title == "Energy budgets this year"
    assert "Share used (%)" in got.header
    assert "Generated at" in got.about


def test_the_alert_inbox_export_keeps_the_filters_and_says_them(
    clients: dict[str, httpx.Client], seeded: ApiHarness
) -> None:
    officer = clients["officer"]
    page = read_page(officer.get(f"/console/alerts?state=all&enterprise={ENT_B}").text)
    link = page.exports["alert-list"]
    assert parse_qs(urlsplit(link).query)["enterprise"] == [ENT_B]
    got = read_xlsx(officer.get(link).content)
    ids = [int(r[0]) for r in got.rows]
    assert ids == [seeded.alert_ids["B"]]
    assert got.about["企业"] == ENT_B
    none = read_xlsx(officer.get("/console/alerts?severity=critical&xlsx=alert-list").content)
    assert none.rows == []
    assert none.about["级别"] == "严重"


def test_an_enterprise_account_exports_only_its_own_alerts(
    clients: dict[str, httpx.Client], seeded: ApiHarness
) -> None:
    got = read_xlsx(clients["ent_a"].get("/console/alerts?state=all&xlsx=alert-list").content)
    assert [int(r[0]) for r in got.rows] == [seeded.alert_ids["A"]]


@pytest.mark.parametrize(
    "link",
    [
        f"/console/enterprises/{ENT_B}?xlsx=carrier-figures",
        f"/console/enterprises/{ENT_B}?xlsx=production-entries",
        f"/console/enterprises/{ENT_B}/data-centres/dc-b?xlsx=pue-history",
        f"/console/enterprises/{ENT_B}/meters/B-1?xlsx=counter-event-list",
    ],
)
def test_an_enterprise_account_cannot_export_another_enterprises_table(
    clients: dict[str, httpx.Client], link: str
) -> None:
    resp = clients["ent_a"].get(link)
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")


def test_an_alert_of_another_enterprise_does_not_export(
    clients: dict[str, httpx.Client], seeded: ApiHarness
) -> None:
    alert = seeded.alert_ids["B"]
    assert clients["ent_a"].get(f"/console/alerts/{alert}?xlsx=alert-history").status_code == 404
    own = clients["ent_a"].get(f"/console/alerts/{seeded.alert_ids['A']}?xlsx=alert-history")
    assert own.status_code == 200
    assert read_xlsx(own.content).rows  # the opening is in the history


@pytest.mark.parametrize(
    "link",
    [
        "/console/intensity?xlsx=intensity-ranking",
        "/console/intensity?xlsx=over-quota-list",
        "/console/admin/users?xlsx=user-list",
    ],
)
def test_officer_and_admin_tables_answer_403_to_an_enterprise_account(
    clients: dict[str, httpx.Client], link: str
) -> None:
    assert clients["ent_a"].get(link).status_code == 403


def test_the_users_table_is_for_admins_only(clients: dict[str, httpx.Client]) -> None:
    assert clients["officer"].get("/console/admin/users?xlsx=key-list").status_code == 403


def test_an_unknown_table_is_404_and_an_anonymous_export_goes_to_the_login(
    clients: dict[str, httpx.Client], seeded: ApiHarness
) -> None:
    assert clients["officer"].get("/console/budgets?xlsx=nothing").status_code == 404
    with httpx.Client(base_url=seeded.url, timeout=30) as anonymous:
        resp = anonymous.get("/console/budgets?xlsx=budget-ranking", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/console/login?next=/console/budgets")

"""The console in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser). Screenshots of each screen go to a temporary folder, or to docs/console/ with
ENERGYMON_UPDATE_SCREENSHOTS=1. No page may log a JavaScript error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.api.conftest import PASSWORD, ApiHarness
from tests.integration.conftest import ENT_A, ENT_B
from tests.support.intensity import NOV, enter, november_figures
from tests.support.tables import read_xlsx

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[3] / "docs" / "console"
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (scripts/bootstrap --test-tools installs it)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as pw:
        # --no-sandbox: the suite runs as root in a container, where Chromium's sandbox cannot
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("ENERGYMON_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


class Session:
    """One browser context (its own cookies) with every JavaScript error it logs."""

    def __init__(self, browser: sync_api.Browser, base: str, shots: Path) -> None:
        self.context = browser.new_context(
            base_url=base, viewport={"width": 1366, "height": 768}, locale="zh-CN"
        )
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.errors.append(f"pageerror: {err}"))
        self.shots = shots

    def _console(self, message: sync_api.ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location.get('url')}")

    def log_in(self, username: str) -> None:
        self.page.goto("/console/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("form[action='/console/login'] button[type=submit]")
        self.page.wait_for_url("**/console/")

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=self.shots / f"{name}.png", full_page=True)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def session(browser: sync_api.Browser, fed_recent: ApiHarness, shots: Path) -> Iterator[Session]:
    s = Session(browser, fed_recent.url, shots)
    yield s
    s.close()


def test_an_officer_walks_the_screens_acknowledges_an_alert_and_switches_to_english(
    session: Session, fed_recent: ApiHarness
) -> None:
    page = session.page
    session.log_in("officer")
    assert page.locator("h1").inner_text() == "全区总览"
    page.wait_for_selector("#trend canvas")  # ECharts drew the daily trend
    assert page.locator("#alert-count .count").inner_text() == "2"  # polled by htmx
    session.shot("overview")

    page.click("text=数据中心")
    over = page.locator(f"tr[data-site='{ENT_A}/dc-1']")
    assert "over" in (over.get_attribute("class") or "")
    assert "超过限值（1.300 > 1.25）" in over.inner_text()  # the verdict in the page's language
    page.wait_for_selector(".chart canvas")
    session.shot("data-centres")

    over.locator("a").click()
    page.wait_for_selector(".chart canvas")
    assert "1.300" in (page.locator("table.data").text_content() or "")  # under the chart
    session.shot("data-centre-history")

    page.click("text=用能预算")
    first = page.locator("#budget-ranking tbody tr").first
    assert (
        first.get_attribute("data-budget")
        == f"{ENT_A}//{datetime.now(UTC).astimezone(ZoneInfo('Asia/Shanghai')).year}/tce"
    )
    page.wait_for_selector(".chart canvas")
    session.shot("budgets")

    page.goto("/console/alerts")
    alert = fed_recent.alert_ids["A"]
    page.click(f"tr[data-alert='{alert}'] a")  # htmx loads the detail beside the list
    assert page.locator("#alert-state").inner_text() == "待处理"
    page.fill("#alert-detail form[hx-post$='/acknowledge'] input[name=comment]", "已通知企业")
    page.click("#acknowledge")
    page.wait_for_selector("#alert-detail[data-state='acknowledged']")
    assert "已通知企业" in page.locator("#alert-detail").inner_text()
    assert page.locator(f"#alert-row-state-{alert}").inner_text() == "已确认"
    page.wait_for_selector("#alert-count .count:text-is('1')")  # one alert is left open
    session.shot("alerts")

    page.goto(f"/console/enterprises/{ENT_A}")
    assert page.locator("#meters").inner_text().count("在线") >= 3
    session.shot("enterprise")
    page.click("#consumption a[data-resolution='15m']")  # htmx swaps the section in place
    page.wait_for_selector("#consumption a[data-resolution='15m'][aria-current='true']")
    page.wait_for_selector("#consumption .chart canvas")
    assert page.url.endswith(f"/console/enterprises/{ENT_A}")  # no navigation

    page.click("#meters a:text-is('DC-IN-1')")
    page.wait_for_selector(".chart canvas")  # the last day's raw counter readings
    session.shot("meter")

    page.go_back()
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    assert "Meter" in page.locator("#meters").inner_text()
    page.goto("/console/")
    assert page.locator("h1").inner_text() == "District overview"
    session.shot("overview-en")
    assert session.errors == []


def test_an_enterprise_account_cannot_open_another_enterprises_page(session: Session) -> None:
    session.log_in("ent_a")
    own = session.page.goto(f"/console/enterprises/{ENT_A}")
    assert own is not None
    assert own.status == 200
    other = session.page.goto(f"/console/enterprises/{ENT_B}")
    assert other is not None
    assert other.status == 404
    assert session.page.locator("h1").inner_text() == "未找到"
    # the browser reports the 404 document itself; nothing else may fail
    unexpected = [e for e in session.errors if not e.endswith(f"(Not Found) at {session.page.url}")]
    assert unexpected == []


def test_an_admin_checks_a_registry_file_before_applying_it(
    session: Session, tmp_path: Path
) -> None:
    session.log_in("admin")
    page = session.page
    page.click("text=登记信息")
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "district_small.yaml"
    district = tmp_path / "district.yaml"  # a new current transformer and a gateway renamed
    district.write_text(
        fixture.read_text()
        .replace("multiplier: 80", "multiplier: 120\n            serial: CT-2026-117")
        .replace("{code: gw-02}", "{code: gw-02, name: boiler room}")
    )
    page.set_input_files("input[name=file]", str(district))
    page.click("#check")
    page.wait_for_selector("#registry-result[data-step='checked']")
    # the harness added data centre dc-b to enterprise B; the file does not list it
    removed = page.locator(f"#diff tbody[data-table='sites'][data-row='{ENT_B}/dc-b']")
    assert removed.get_attribute("data-action") == "removed"
    assert "移除" in removed.inner_text()
    meter = page.locator(f"#diff tbody[data-row='{ENT_A}/M-100']")
    assert "80" in meter.locator("tr[data-field='multiplier'] .old").inner_text()
    assert "120" in meter.locator("tr[data-field='multiplier'] .new").inner_text()
    assert page.locator("#apply").is_visible()  # nothing is applied before the admin says so
    session.shot("admin-registry")
    assert session.errors == []


def test_an_admin_issues_an_api_key_copies_it_and_never_sees_it_again(
    session: Session, fed_recent: ApiHarness
) -> None:
    session.context.grant_permissions(["clipboard-read", "clipboard-write"])
    session.log_in("admin")
    page = session.page
    page.goto("/console/admin/users")
    row = page.locator("tr[data-user='gw_a']")
    row.locator("input[name=name]").fill("网关 HTTP 上传")
    row.locator("form.issue-key button").click()
    page.wait_for_selector("#issued-key")
    key = page.locator("#issued-key").inner_text()
    assert key.startswith("emk_")
    page.click("#copy-key")
    page.wait_for_selector("#copy-key[data-copied='1']")
    assert page.evaluate("navigator.clipboard.readText()") == key
    session.shot("admin-key-issued")
    me = fed_recent.client.get("/api/v1/me", headers={"X-API-Key": key})
    assert me.json()["username"] == "gw_a"

    page.goto("/console/admin/users")
    prefix = key.split("_")[1]
    assert "网关 HTTP 上传" in page.locator(f"tr[data-key='{prefix}']").inner_text()
    assert key not in page.content()  # shown once: only the prefix is listed afterwards
    assert session.errors == []


def test_an_officer_finds_the_over_quota_plant_and_locks_a_month(
    browser: sync_api.Browser, api: ApiHarness, shots: Path
) -> None:
    november_figures(api.db)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if last != NOV:  # a month the production section lists has a figure
        enter(api.db, ENT_A, last, 42.0)
    session = Session(browser, api.url, shots)
    try:
        session.log_in("officer")
        page = session.page
        page.click("text=能耗强度")
        page.goto("/console/intensity?month=2026-11&by=quota_distance")
        over = page.locator(f"#over-quota tr[data-enterprise='{ENT_A}']")
        assert "over" in (over.get_attribute("class") or "")
        assert "GB 21256-2025 4.3, Table 3, grade 3" in over.inner_text()
        page.wait_for_selector("#ranking .chart canvas")
        session.shot("intensity")

        over.locator("a").click()
        page.goto(f"/console/enterprises/{ENT_A}?month=2026-11")
        assert "over" in (
            page.locator("#product-intensity tr[data-product='hot-metal']").get_attribute("class")
            or ""
        )
        row = f"#month-locks tr[data-month='{last:%Y-%m}']"
        page.fill(f"{row} input[name=reason]", "已与企业核对")
        page.click(f"{row} button")  # htmx posts with the CSRF header and swaps the section
        page.wait_for_selector(f"{row}.locked")
        assert "已与企业核对" in page.locator(row).inner_text()
        session.shot("enterprise-intensity")
        assert session.errors == []
    finally:
        session.close()


def test_an_officer_downloads_a_table_as_xlsx_from_its_link(
    session: Session, fed_recent: ApiHarness, tmp_path: Path
) -> None:
    """The XLSX link above the budget ranking downloads the ranking the page shows."""
    session.log_in("officer")
    page = session.page
    page.goto("/console/budgets")
    shown = page.locator("#budget-ranking tbody tr").count()
    with page.expect_download() as caught:
        page.click("a[data-export='budget-ranking']")
    download = caught.value
    assert download.failure() is None
    assert download.suggested_filename.startswith("本年用能预算-")
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / "budgets.xlsx"
    download.save_as(saved)
    got = read_xlsx(saved.read_bytes())
    assert got.title == "本年用能预算"
    assert len(got.rows) == shown >= 2
    assert got.rows[0][0] == page.locator("#budget-ranking tbody tr td").first.inner_text()
    assert page.url.endswith("/console/budgets")  # the page stays; only the file came
    assert session.errors == []

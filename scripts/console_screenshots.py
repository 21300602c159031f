"""Screenshots of the console's screens from a running demo (``scripts/run --embedded`` prints
the console's address and the officer's login) into docs/console/: they show the demo's PUE,
budget, quota and production alerts. Debian's chromium driven by Playwright, as the browser tests.

Usage: .venv/bin/python scripts/console_screenshots.py [URL] [--user officer]
       [--password demo-officer-password] [--out docs/console]
The registry screen needs an admin: the browser tests take that one
(ENERGYMON_UPDATE_SCREENSHOTS=1, tests/integration/console/test_console_browser.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "console"


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=out / f"{name}.png", full_page=True)
    print(f"{name}.png: {page.url}")


def first_href(page: Page, selector: str) -> str:
    href = page.locator(selector).first.get_attribute("href")
    if href is None:
        raise SystemExit(f"nothing matches {selector} on {page.url}")
    return href


def walk(page: Page, out: Path) -> None:
    page.goto("/console/")
    page.wait_for_selector("#trend canvas")
    shoot(page, out, "overview")
    page.goto("/console/data-centres")
    page.wait_for_selector(".chart canvas")
    shoot(page, out, "data-centres")
    page.goto(first_href(page, "#pue-ranking tr.over a"))
    page.wait_for_selector(".chart canvas")
    shoot(page, out, "data-centre-history")
    page.goto("/console/budgets")
    page.wait_for_selector(".chart canvas")
    shoot(page, out, "budgets")
    page.goto("/console/alerts")
    page.locator("table.data tbody tr a").first.click()  # htmx loads the detail
    page.wait_for_selector("#alert-detail")
    shoot(page, out, "alerts")
    page.goto("/console/intensity?by=quota_distance")
    page.wait_for_selector("#ranking .chart canvas")
    shoot(page, out, "intensity")
    over = first_href(page, "#over-quota tr.over a")
    page.goto(over)
    page.wait_for_load_state("networkidle")
    # the intensity section only: "enterprise" is the whole page
    page.locator("#intensity").screenshot(path=out / "enterprise-intensity.png")
    print(f"enterprise-intensity.png: {page.url}")
    meter = first_href(page, "#meters tbody a")
    page.goto(meter)
    page.wait_for_selector(".chart canvas")
    shoot(page, out, "meter")
    page.goto(re.sub(r"#.*$", "", over))
    page.locator("#meters").scroll_into_view_if_needed()
    shoot(page, out, "enterprise")
    page.click("#consumption a[data-resolution='15m']")  # htmx swaps the section in place
    page.wait_for_selector("#consumption a[data-resolution='15m'][aria-current='true']")
    page.wait_for_selector("#consumption .chart canvas")
    page.locator("#consumption").screenshot(path=out / "enterprise-consumption.png")
    print(f"enterprise-consumption.png: {page.url}")
    page.goto("/console/quality")
    page.wait_for_selector("#quality-ranking")
    shoot(page, out, "quality")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang='en']")
    page.goto("/console/")
    page.wait_for_selector("#trend canvas")
    shoot(page, out, "overview-en")
    page.click("#lang-switch")  # leave the browser's cookie as it was


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="officer")
    parser.add_argument("--password", default="demo-officer-password")
    parser.add_argument("--out", type=Path, default=DOCS)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.url.removesuffix("/").removesuffix("/console")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(
            base_url=base, viewport={"width": 1366, "height": 768}, locale="zh-CN"
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto("/console/login")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("form[action='/console/login'] button[type=submit]")
        page.wait_for_url("**/console/")
        walk(page, args.out)
        browser.close()
    for err in errors:
        print(f"page error: {err}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

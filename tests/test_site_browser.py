"""The built site in a real headless browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import EMPTY_CODE, ODD_NAME, REPO
from fls_report.io import safe_name

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("FLS_SCREENSHOTS", REPO / "tests" / "screenshots"))
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if CHROMIUM is None:
    reason = "Debian's chromium is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        raise RuntimeError(reason)  # in CI a missing browser is a failure, never a skip
    pytestmark = pytest.mark.skip(reason=reason)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, path: Path, screenshot: str):
    """Open a page from disk; return (page, outside requests, console errors)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    outside, errors = [], []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)
    return page, outside, errors


def assert_page_works(page, outside, errors):
    assert outside == [], f"requests left file:/data: {outside[:3]}"
    assert errors == [], errors
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert all(done and width > 0 for done, width, _ in images), "an image did not load"
    assert all(alt for _, _, alt in images), "an image has no alt text"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at laptop width"
    return images


def test_index(browser, built_site):
    page, outside, errors = open_page(browser, built_site / "site" / "index.html", "index")
    assert_page_works(page, outside, errors)
    assert page.locator("h1").inner_text().startswith("Test run")
    links = page.locator("a[href$='.html']").count()
    assert links >= 2 + 6
    # The sortable table sorts when a heading is clicked.
    page.get_by_role("button", name="Records").click()
    first = page.locator("table.sortable-table tbody.sortable tr").first.locator("td").nth(2).inner_text()
    assert first == "0"  # the service with no records sorts first, ascending


def test_national_report(browser, built_site):
    page, outside, errors = open_page(browser, built_site / "site" / "national.html", "national")
    images = assert_page_works(page, outside, errors)
    assert "National report" in page.locator("h1").inner_text()
    assert len(images) >= 9  # a caterpillar per KPI at least
    assert page.get_by_text(ODD_NAME).count() >= 1  # shown as text, not run as markup


@pytest.mark.parametrize("which", ["odd name", "no records"])
def test_service_report(browser, built_site, which):
    results = pd.read_csv(built_site / "tables" / "kpi_results.csv", dtype={"code": str})
    code = EMPTY_CODE if which == "no records" else results.query("name == @ODD_NAME")["code"].iloc[0]
    name = results.query("code == @code")["name"].iloc[0]
    path = built_site / "site" / "services" / f"{safe_name(code)}.html"
    page, outside, errors = open_page(browser, path, f"service-{which.replace(' ', '-')}")
    assert_page_works(page, outside, errors)
    assert page.locator("h1").inner_text() == name

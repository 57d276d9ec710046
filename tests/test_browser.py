"""End to end in a real browser: `streamlit run dashboard.py` driven by headless Chromium.

Every page is opened by its URL and by clicking the navigation; each time the
test waits for the run to finish and checks that Plotly charts were drawn and
that no Streamlit exception box is shown. A screenshot of each page goes to
tests/artifacts/ (with IOP_UPDATE_SCREENSHOTS=1 the main ones also replace
docs/screenshots/, which the README shows).

Chromium missing: skipped locally, a failure under CI=true (the `chromium` fixture).
"""
from __future__ import annotations

import os
import shutil

import pytest

from browser_support import full_page_screenshot, launch_chromium, running_dashboard, wait_for_app
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
# url path -> (navigation label, page heading, fewest Plotly charts drawn)
PAGES = {
    "overview": ("Overview", "IOP outcomes overview", 6),
    "retention": ("Retention", "Retention", 4),
    "attendance": ("Attendance and sessions", "Attendance and session completion", 5),
    "therapy_mix": ("Therapy mix", "Therapy mix", 4),
    "outcomes": ("Clinical outcomes", "Clinical outcomes", 5),
    "access": ("Access", "Access and early engagement", 2),
    "qi": ("QI meeting", "QI meeting", 5),
    "data": ("Data", "Data", 1),
}


@pytest.fixture(scope="module")
def dashboard_url(chromium, sample_store_path, tmp_path_factory):
    # chromium first: fail (CI) or skip before paying for the server
    store = tmp_path_factory.mktemp("browser") / "sample.duckdb"
    shutil.copy(sample_store_path, store)  # the server writes audit rows (downloads, views); not into the shared one
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_dashboard(store, log_path=ARTIFACTS / "dashboard-server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(dashboard_url, chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p, chromium)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(90_000)
    yield pg
    context.close()


def assert_page_drawn(pg, path: str) -> None:
    label, heading, fewest = PAGES[path]
    wait_for_app(pg, heading=heading)
    assert pg.locator('[data-testid="stException"]').count() == 0, f"{path}: Streamlit exception shown"
    drawn = pg.locator(".js-plotly-plot .main-svg").count()
    charts = pg.locator('[data-testid="stPlotlyChart"]').count()
    assert charts >= fewest, f"{path}: {charts} charts, expected at least {fewest}"
    assert drawn >= charts, f"{path}: {charts} chart elements but only {drawn} drawn by Plotly"
    # Every drawn chart holds data traces (not a blank frame).
    blank = pg.evaluate("() => Array.from(document.querySelectorAll('.js-plotly-plot'))"
                        ".filter(d => !(d.data && d.data.length > 0)).length")
    assert blank == 0, f"{path}: {blank} chart(s) without any trace"
    failed = pg.get_by_text("could not be computed").count()
    assert failed == 0, f"{path}: a section failed"


def test_every_page_by_url(page, dashboard_url):
    for path in PAGES:
        page.goto(f"{dashboard_url}/{path}")
        assert_page_drawn(page, path)
        full_page_screenshot(page, ARTIFACTS / f"{path}.png")
    if os.environ.get("IOP_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for path in PAGES:
            shutil.copy(ARTIFACTS / f"{path}.png", SCREENSHOTS / f"{path}.png")


def test_every_page_by_navigation(page, dashboard_url):
    page.goto(dashboard_url)
    assert_page_drawn(page, "overview")
    nav = page.locator('[data-testid="stSidebarNav"]')
    for path, (label, _, _) in PAGES.items():
        nav.get_by_role("link", name=label, exact=True).click()
        page.wait_for_url(f"**/{path}" if path != "overview" else "**/*")
        assert_page_drawn(page, path)
        full_page_screenshot(page, ARTIFACTS / f"nav-{path}.png")


def test_filters_persist_across_navigation(page, dashboard_url):
    page.goto(f"{dashboard_url}/retention")
    assert_page_drawn(page, "retention")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator('[data-testid="stMultiSelect"]').first.click()
    option = page.locator('[role="option"]').filter(has_not_text="Select all").first
    site = option.inner_text().strip()
    option.click()
    page.keyboard.press("Escape")
    wait_for_app(page, heading="Retention")
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Therapy mix", exact=True).click()
    assert_page_drawn(page, "therapy_mix")
    # The chosen site is still selected on the other page, and named in the filter line.
    assert sidebar.get_by_text(site, exact=True).count() >= 1
    assert page.get_by_text(f"Sites: {site}").count() == 1


def test_csv_download_is_suppressed_and_formula_safe(page, dashboard_url, tmp_path):
    """The coverage table's CSV, downloaded in the browser: a site with fewer than 11 episodes reads '<11'."""
    import csv
    import io

    page.goto(f"{dashboard_url}/data")
    assert_page_drawn(page, "data")
    with page.expect_download(timeout=90_000) as info:
        page.locator(".st-key-dl_site_last_dates button").click()
    target = tmp_path / "site_last_dates.csv"
    info.value.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows, "empty download"
    small = [r for r in rows if r["episodes"].startswith("<")]
    assert small, "the sample has a site with fewer than 11 episodes; its count must be suppressed"
    assert all(r["episodes"] == "<11" for r in small)
    for r in rows:
        assert r["episodes"] == "<11" or int(r["episodes"]) >= 11


def test_access_page_download_is_suppressed(page, dashboard_url, tmp_path):
    """The Access page's continuation table, downloaded in the browser: the tiny site's counts read '<11'."""
    import csv
    import io

    page.goto(f"{dashboard_url}/access")
    assert_page_drawn(page, "access")
    button = page.locator(".st-key-dl_continuation_by_site button")
    page.locator('[data-testid="stExpander"]').filter(has=button).locator("summary").click()
    with page.expect_download(timeout=90_000) as info:
        button.click()
    target = tmp_path / "continuation_by_site.csv"
    info.value.save_as(target)
    rows = {r["site"]: r for r in csv.DictReader(io.StringIO(target.read_text(encoding="utf-8")))}
    assert rows["Pinewood"]["eligible"] == "<11" and rows["Pinewood"]["day_4"] == "<11"
    assert int(rows["Northgate"]["eligible"]) >= 11


@pytest.fixture(scope="module")
def full_dashboard_url(chromium, full_exports, tmp_path_factory):
    """A dashboard over the generator's --full exports (referrals, first contacts), imported
    through the real importer and marked as sample data, as the committed sample is."""
    from tests.support import import_full_exports

    store = tmp_path_factory.mktemp("browser_full") / "full.duckdb"
    import_full_exports(store, full_exports, mark_sample=True)
    with running_dashboard(store, log_path=ARTIFACTS / "dashboard-server-full.log") as url:
        yield url


def test_access_page_with_referrals_by_url_and_by_navigation(page, full_dashboard_url):
    """Every section of the Access page drawn from real referrals, reached both ways."""
    sections = ("From first contact to the fourth day of care", "Referral outcomes by month of first contact",
                "Admission rate compared, within each program", "Waits from first contact to care",
                "Continuation in the first 28 days", "IET-style initiation and engagement (not the HEDIS measure)")
    page.goto(f"{full_dashboard_url}/access")
    wait_for_app(page, heading="Access and early engagement")
    full_page_screenshot(page, ARTIFACTS / "access-full.png")
    for reached in ("url", "navigation"):
        assert page.locator('[data-testid="stException"]').count() == 0, reached
        assert page.get_by_text("could not be computed").count() == 0, reached
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 7, reached
        for heading in sections:
            assert page.get_by_role("heading", name=heading).count() == 1, (reached, heading)
        if reached == "url":
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_role("link", name="Overview", exact=True).click()
            wait_for_app(page, heading=PAGES["overview"][1])
            assert page.get_by_text("Median wait").count() >= 1  # the Overview's access tiles
            nav.get_by_role("link", name="Access", exact=True).click()
            page.wait_for_url("**/access")
            wait_for_app(page, heading="Access and early engagement")

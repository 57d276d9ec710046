"""Links that carry their filters, in a real browser: `streamlit run dashboard.py` driven by
headless Chromium.

Choosing a filter in the sidebar puts it in the address bar; reloading that address (a
new session, as a copied link opens) restores the same view, and the filters stay in
the address when the user switches page.

Chromium missing: skipped locally, a failure under CI=true (the `chromium` fixture).
"""
from __future__ import annotations

import re
import shutil
from urllib.parse import parse_qs, urlparse

import pytest

from browser_support import choose_first_site, launch_chromium, running_dashboard, wait_for_app
from tests.support import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
AS_OF = "2026-06-30"  # within the sample's data (admissions 2024-11-01 to 2026-10-30)


@pytest.fixture(scope="module")
def dashboard_url(chromium, sample_store_path, tmp_path_factory):
    store = tmp_path_factory.mktemp("links") / "sample.duckdb"
    shutil.copy(sample_store_path, store)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_dashboard(store, log_path=ARTIFACTS / "dashboard-links-server.log") as url:
        yield url


@pytest.fixture
def page(dashboard_url, chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p, chromium)
        pg = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        pg.set_default_timeout(90_000)
        yield pg
        browser.close()


def query(pg) -> dict[str, list[str]]:
    return parse_qs(urlparse(pg.url).query)


def shown_view(pg) -> tuple[str, str, list[str]]:
    """(the 'Data as of' line, the filter line, the sites chosen in the sidebar)."""
    main = pg.locator('[data-testid="stMain"]')
    as_of = main.get_by_text(re.compile(r"^Data as of ")).first.inner_text().strip()
    filters = main.get_by_text(re.compile(r"^Filters: ")).first.inner_text().strip()
    sites_box = pg.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').first
    chosen = [t.strip() for t in sites_box.locator("[data-tag] > span[title]").all_inner_texts()]
    return as_of, filters, chosen


def test_a_filter_change_goes_into_the_url_and_a_reload_restores_the_view(page, dashboard_url):
    page.goto(f"{dashboard_url}/attendance")
    wait_for_app(page, heading="Attendance and session completion")
    assert query(page) == {}
    sidebar = page.locator('[data-testid="stSidebar"]')

    # A site chosen in the sidebar is written to the address.
    site = choose_first_site(page)
    page.wait_for_url(re.compile(r"[?&]site="))
    wait_for_app(page, heading="Attendance and session completion")
    assert query(page) == {"site": [site]}

    # So is an as-of date typed into the picker.
    # The picker's year, month and day are spin buttons; typing a segment moves to the next.
    sidebar.get_by_role("spinbutton", name="year, Data as of").click()
    page.keyboard.type(AS_OF.replace("-", ""))
    page.keyboard.press("Escape")  # closes the calendar and commits the typed date
    page.wait_for_url(re.compile(r"[?&]as_of="))
    wait_for_app(page, heading="Attendance and session completion")
    assert query(page) == {"site": [site], "as_of": [AS_OF]}
    view = shown_view(page)
    assert view == (f"Data as of {AS_OF}", view[1], [site]) and f"Sites: {site}" in view[1]

    # Reloading the address (a new session) restores the same view.
    address = page.url
    page.reload()
    wait_for_app(page, heading="Attendance and session completion")
    assert page.url == address
    assert shown_view(page) == view
    assert page.locator('[data-testid="stException"]').count() == 0

    # Switching page keeps the filters in the address.
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Retention", exact=True).click()
    page.wait_for_url(re.compile(r"/retention\?"))
    wait_for_app(page, heading="Retention")
    assert query(page) == {"site": [site], "as_of": [AS_OF]}
    assert shown_view(page) == view


def test_a_link_with_a_site_that_is_not_there_says_so_without_naming_it(page, dashboard_url):
    page.goto(f"{dashboard_url}/retention?site=Nowhere%20Clinic&as_of=someday")
    wait_for_app(page, heading="Retention")
    assert page.locator('[data-testid="stException"]').count() == 0
    notes = " ".join(page.locator('[data-testid="stSidebar"] [data-testid="stAlert"]').all_inner_texts())
    assert "not among the sites you may see" in notes and "not a date within the data" in notes
    assert page.get_by_text("Nowhere Clinic").count() == 0
    assert query(page) == {}

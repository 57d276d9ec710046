"""Login in a real browser: with [auth] configured, no page shows data before login.

The dashboard runs as `streamlit run dashboard.py` with a secrets file whose
[auth] section points at a local OIDC provider (tests/oidc_stub.py), on a store
holding imported (so: real-looking) data. Headless Chromium then:
- opens every page by its URL without signing in, and finds the login prompt
  and no chart, metric or table;
- signs in as a site lead through the provider (the real st.login code path),
  and finds data, but only the lead's site, on every page;
- signs in as an unknown user and finds nothing.
"""
from __future__ import annotations

import re

import pytest

from analytics.store import Store
from browser_support import launch_chromium, running_dashboard, wait_for_app
from oidc_stub import OidcStub
from tests.support import REPO_ROOT, import_sample

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DATA_SELECTORS = (
    "[data-testid=stPlotlyChart]", "[data-testid=stMetric]",
    "[data-testid=stDataFrame]", "[data-testid=stTable]",
)
LEAD_SITE = "Lakeview"  # lead@example.org's one site in ROLES
OTHER_SITES = ("Northgate", "Hillcrest", "Riverside", "Pinewood")
ROLES = (REPO_ROOT / "tests" / "fixtures" / "roles" / "director_and_lakeview_lead.toml").read_text()


def page_paths() -> list[str]:
    """"" (the entry) and every url_path dashboard.py navigates to, so a new page is covered too."""
    text = (REPO_ROOT / "dashboard.py").read_text()
    paths = re.findall(r'url_path\s*=\s*"([^"]+)"', text)
    assert paths, "no pages found in dashboard.py"
    return [""] + paths


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """(base URL, OIDC provider, store path) of a dashboard with login configured."""
    from playwright.sync_api import sync_playwright  # noqa: F401  (fail early when missing)

    tmp = tmp_path_factory.mktemp("login")
    store_path = tmp / "iop.duckdb"
    import_sample(store_path, actor="test-setup")
    roles = tmp / "roles.toml"
    roles.write_text(ROLES)
    with OidcStub() as idp:
        secrets = tmp / "secrets.toml"
        secrets.write_text(idp.auth_secrets())
        env = {"STREAMLIT_SECRETS_FILES": str(secrets), "IOP_ROLES_FILE": str(roles)}
        with running_dashboard(store_path, env=env, log_path=tmp / "streamlit.log") as url:
            yield url, idp, store_path


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw, chromium)
        yield b
        b.close()


def data_elements(page) -> dict[str, int]:
    return {sel: page.locator(sel).count() for sel in DATA_SELECTORS}


def logged_in(deployment, browser, email: str):
    """A new browser context and its page, after pressing "Log in" as email at the
    identity provider (the gate has not necessarily answered yet)."""
    url, idp, _ = deployment
    idp.next_email = email
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    page.get_by_role("button", name="Log in").click()
    return context, page


def test_every_page_by_url_shows_only_the_login_prompt(deployment, browser):
    url, _, _ = deployment
    for path in page_paths():
        context = browser.new_context()  # no cookie: nobody signed in
        page = context.new_page()
        page.goto(f"{url}/{path}")
        page.get_by_role("button", name="Log in").wait_for(timeout=90_000)
        wait_for_app(page, timeout_ms=90_000, charts=False)
        assert data_elements(page) == dict.fromkeys(DATA_SELECTORS, 0), path
        body = page.locator("body").inner_text()
        assert "Please log in" in body, path
        assert not any(site in body for site in (LEAD_SITE, *OTHER_SITES)), path
        context.close()


def test_site_lead_signs_in_and_sees_only_their_site_on_every_page(deployment, browser):
    url, _, store_path = deployment
    context, page = logged_in(deployment, browser, "lead@example.org")
    wait_for_app(page, timeout_ms=120_000, charts=True)  # the Overview, signed in
    assert sum(data_elements(page).values()) > 0  # the check above can see data
    seen_data = 0
    for path in page_paths():
        page.goto(f"{url}/{path}")
        # the sidebar names the signed-in user once the gate has let them through
        page.get_by_text("Signed in as lead@example.org").wait_for(timeout=120_000)
        wait_for_app(page, timeout_ms=120_000, charts=False)
        body = page.locator("body").inner_text()
        assert "Log in" not in [b.inner_text() for b in page.get_by_role("button").all()], path
        leaked = [site for site in OTHER_SITES if site in body or site in page.content()]
        assert leaked == [], (path, leaked)
        seen_data += sum(data_elements(page).values())
    assert seen_data > 0
    context.close()
    with Store(str(store_path)).read() as cur:
        logins = cur.execute(
            "SELECT count(*) FROM main.audit_log WHERE actor = 'lead@example.org' AND action = 'login'"
        ).fetchone()[0]
    assert logins >= 1


def test_unknown_user_signs_in_and_sees_nothing(deployment, browser):
    context, page = logged_in(deployment, browser, "stranger@example.org")
    page.get_by_text("has no access").wait_for(timeout=90_000)
    wait_for_app(page, timeout_ms=90_000, charts=False)
    assert data_elements(page) == dict.fromkeys(DATA_SELECTORS, 0)
    context.close()

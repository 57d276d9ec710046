"""Hostile text from an imported file is shown as text: browser, CSV and HTML packet.

A site named `<img src=x onerror=alert(1)>` and a clinician named
`=HYPERLINK("http://x","y")` are imported through analytics.ingest.import_files.
- The store keeps them verbatim (nothing mangled on the way in).
- Every dashboard page in headless Chromium shows the site as text; no dialog
  opens, no <img src=x> element exists, no script ran.
- The CSV export neutralises the formula; the HTML report escapes the markup.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from analytics.privacy import exports
from analytics.filters import Filters, Scope
from analytics.ingest.importer import import_files
from analytics.store import Store, bind_filters
from analytics.privacy.suppression import SuppressionSpec

EVIL_SITE = "<img src=x onerror=alert(1)>"
EVIL_CLINICIAN = '=HYPERLINK("http://x","y")'
SESSION_TYPES = ("group", "individual", "family", "relapse_prevention", "life_skills")


def write_hostile_exports(folder: Path) -> list[Path]:
    """Two sites (one hostile) of 24 episodes each, 3 sessions a week for 6 weeks."""
    enroll = ["episode_id,patient_id,site,program,admit_date,discharge_date,discharge_reason,planned_weeks"]
    sessions = ["session_id,episode_id,session_date,session_type,clinician,scheduled_minutes,attended_minutes,status"]
    from datetime import date, timedelta

    for i in range(48):
        site = EVIL_SITE if i % 2 else "North"
        admit = date(2024, 1, 1) + timedelta(days=7 * (i % 12))
        done = i % 3 == 0
        discharge = admit + timedelta(days=41) if done else None
        enroll.append(",".join([
            f"E{i}", f"P{i}", _quote(site), "Adult IOP", admit.isoformat(),
            discharge.isoformat() if discharge else "", "completed" if done else "", "8",
        ]))
        for k in range(18):
            day = admit + timedelta(days=(k // 3) * 7 + (k % 3) * 2)
            attended = (i + k) % 5 != 0
            clinician = EVIL_CLINICIAN if k % 2 else "Clinician A"
            sessions.append(",".join([
                f"S{i}-{k}", f"E{i}", day.isoformat(), SESSION_TYPES[k % 5], _quote(clinician), "180",
                "180" if attended else "0", "attended" if attended else "no_show",
            ]))
    paths = [folder / "enrollments.csv", folder / "sessions.csv"]
    paths[0].write_text("\n".join(enroll) + "\n", encoding="utf-8")
    paths[1].write_text("\n".join(sessions) + "\n", encoding="utf-8")
    return paths


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xss")
    path = folder / "iop.duckdb"
    store = Store(str(path))
    result = import_files(store, write_hostile_exports(folder), actor="test-setup")
    assert all(f.rejected == 0 for f in result.files), [vars(f) for f in result.files]
    yield path, store
    store.close()


def test_hostile_text_is_stored_verbatim(hostile_store):
    _, store = hostile_store
    with store.read() as cur:
        sites = {r[0] for r in cur.execute("SELECT DISTINCT site FROM main.enrollments").fetchall()}
        clinicians = {r[0] for r in cur.execute("SELECT DISTINCT clinician FROM main.sessions").fetchall()}
    assert EVIL_SITE in sites and EVIL_CLINICIAN in clinicians


def test_csv_export_neutralises_the_formula(hostile_store):
    _, store = hostile_store
    with store.read() as cur:
        bind_filters(cur, Filters(), Scope())
        df = cur.execute("""SELECT site, clinician, count(DISTINCT patient_id) AS patients, count(*) AS sessions
                            FROM main.selected_sessions() GROUP BY ALL ORDER BY ALL""").df()
    rows = list(csv.reader(io.StringIO(exports.export_table(
        df, SuppressionSpec(counts=("patients",), column_totals=False)).decode("utf-8"), newline="")))
    clinicians = {r[1] for r in rows[1:]}
    assert "'" + EVIL_CLINICIAN in clinicians and EVIL_CLINICIAN not in clinicians
    assert EVIL_SITE in {r[0] for r in rows[1:]}  # not a formula: CSV is not HTML


def test_html_report_escapes_the_markup(hostile_store):
    from analytics.report import packet

    _, store = hostile_store
    html = packet.build_report_html(store, Filters(), Scope(), generated_by="test")
    assert EVIL_SITE not in html
    assert "onerror=alert(1)" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "").replace(
        "\\u003cimg src=x onerror=alert(1)\\u003e", "")
    # and the site is still there, as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html or "\\u003cimg src=x onerror=alert(1)\\u003e" in html


@pytest.mark.browser
@pytest.mark.slow
def test_browser_shows_hostile_names_as_text_and_runs_no_script(hostile_store, chromium, tmp_path):
    from playwright.sync_api import sync_playwright

    from browser_support import launch_chromium, running_dashboard, wait_for_app
    from test_login_browser import page_paths

    path, _ = hostile_store
    dialogs: list[str] = []
    seen_as_text = []
    env = {"IOP_ALLOW_ANONYMOUS": "1"}  # local mode over imported data, stated in the banner
    with running_dashboard(path, env=env, log_path=tmp_path / "streamlit.log") as url, sync_playwright() as pw:
        browser = launch_chromium(pw, chromium)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.add_init_script("window.__xss = 0; window.alert = (m) => { window.__xss += 1; };")
        for p in page_paths():
            page.goto(f"{url}/{p}")
            page.get_by_text("IOP_ALLOW_ANONYMOUS=1 is set").wait_for(timeout=120_000)
            wait_for_app(page, timeout_ms=120_000, charts=False)
            page.wait_for_timeout(500)
            assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0, p
            assert page.evaluate("window.__xss") == 0, p
            if EVIL_SITE in page.locator("body").inner_text():
                seen_as_text.append(p)
        browser.close()
    assert dialogs == []
    assert seen_as_text, "the hostile site name was not shown as text on any page"

"""The QI packet: self-contained, escaped, suppressed, every chart present; PDF and CLI.

Data: the hand-made store of tests/qi_fixture.py plus a site and a clinician with
hostile names and an intervention whose title is markup.
"""
from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser

import pytest

from analytics.metrics import intake
from analytics.qi import funnel
from analytics.qi import intake as intake_qi
from analytics.report import definitions, packet as report
from analytics.filters import Filters, Scope
from analytics.qi.interventions import record_intervention
from analytics.store import bind_filters
from tests import qi_fixture
from tests.conftest import add_enrollments, add_sessions
from tests.support import run_analytics

HOSTILE_SITE = "<img src=x onerror=alert(1)>"
HOSTILE_CLINICIAN = '=HYPERLINK("http://x","y")'
HOSTILE_TITLE = "<script>alert('x')</script> reminders"
FILTERS = Filters(as_of=qi_fixture.AS_OF)


@pytest.fixture
def packet_store(store_file):
    qi_fixture.fill(store_file)
    add_enrollments(store_file, [("h1", "p9", HOSTILE_SITE, qi_fixture.PROGRAM, "2026-01-12", None, None)])
    add_sessions(store_file, [
        ("h-s1", "h1", "2026-01-13", "group", HOSTILE_CLINICIAN, 180, 180, "attended"),
        ("h-s2", "h1", "2026-02-17", "group", HOSTILE_CLINICIAN, 180, 0, "no_show"),
    ])
    record_intervention(store_file, date(2026, 2, 2), HOSTILE_TITLE, "note <b>bold</b>", None, None, "lead")
    return store_file


@pytest.fixture
def packet_html(packet_store):
    return report.build_report_html(packet_store, FILTERS, Scope(), generated_by="tester")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.external: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if tag in ("script", "link", "img", "iframe") and name in ("src", "href") and value:
                self.external.append((tag, name, value))


def _expected_figures(store) -> int:
    """7 control charts, 6 funnels per program (3 measures x site/clinician), retention, dose, mix;
    then the access section: the path when there are referrals, each access control chart
    with a point, and an admission-rate funnel per program of the referrals."""
    with store.read() as cur:
        bind_filters(cur, FILTERS)
        programs = 0
        for measure in funnel.MEASURES:
            for unit in funnel.UNITS:
                programs += len(funnel.funnels(cur, measure, unit))
        path = int(intake.contact_funnel(cur)["contacts"].iloc[0] > 0)
        access = sum(not chart.empty for chart in intake_qi.access_charts(cur).values())
        admission = len(intake_qi.admission_funnels(cur, "site"))
    return 7 + programs + 3 + path + access + admission


def test_no_external_script_or_link(packet_html):
    tags = _Tags()
    tags.feed(packet_html)
    assert tags.external == []
    assert "script" in tags.tags
    # Plotly's library is inline, exactly once
    assert packet_html.count("<script type='text/javascript'>") == 1
    assert "cdn.plot.ly" not in packet_html.split("<body>")[1]


def test_contains_every_chart(packet_store, packet_html):
    assert packet_html.count('class="plotly-graph-div"') == _expected_figures(packet_store)
    for title in ("Attendance rate, by month", "No-show rate, by week", "Completion rate, by discharge month",
                  "Retention at week 4, by admission month", "Median weekly hours, by month",
                  "Attendance rate by clinician", "Retention: no unplanned discharge", "Therapy mix"):
        assert title in packet_html


def test_imported_text_is_escaped(packet_html):
    assert HOSTILE_SITE not in packet_html
    assert "<script>alert(" not in packet_html
    assert "<b>bold</b>" not in packet_html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; reminders" in packet_html


def test_filters_as_of_and_definitions_shown(packet_store):
    html_text = report.build_report_html(packet_store, Filters(as_of=qi_fixture.AS_OF, sites=("North", HOSTILE_SITE)),
                                         Scope(), generated_by="tester")
    assert "Data as of <strong>2026-03-20</strong>" in html_text
    assert "North, &lt;img src=x onerror=alert(1)&gt;" in html_text
    assert "Definitions" in html_text and "Small-cell suppression" in html_text


def test_small_counts_suppressed_in_tiles(packet_store):
    # 5 episodes, 5 patients: every count and rate on the tiles is hidden at 11 ...
    html11 = report.build_report_html(packet_store, FILTERS, Scope(), generated_by="t", threshold=11)
    tiles11 = html11.split("<div class='tiles'>")[1].split("</div></div></div>")[0]
    assert "<div class='l'>Episodes</div><div class='v'>&lt;11</div>" in html11
    assert "<div class='l'>Attendance rate</div><div class='v'>&lt;11</div>" in html11
    assert "0.0%" not in tiles11
    # ... and shown at a threshold of 5 (5 episodes is not below 5).
    html5 = report.build_report_html(packet_store, FILTERS, Scope(), generated_by="t", threshold=5)
    assert "<div class='l'>Episodes</div><div class='v'>5</div>" in html5


def test_site_scope_limits_the_packet(packet_store):
    html_text = report.build_report_html(packet_store, FILTERS, Scope(allowed_sites=("North",)), generated_by="t",
                                         threshold=1)
    assert "South" not in html_text.split("</head>")[1]
    assert "<div class='l'>Episodes</div><div class='v'>2</div>" in html_text


def test_markdown_appendix_escapes():
    out = definitions.markdown_to_html("# Title\nA <b>x</b> and `code`\n- item <i>\n")
    assert out == "<h3>Title</h3>\n<p>A &lt;b&gt;x&lt;/b&gt; and <code>code</code></p>\n<ul><li>item &lt;i&gt;</li></ul>"


@pytest.mark.slow
def test_cli_writes_packet_and_audit_row(packet_store, tmp_path):
    out = tmp_path / "packet.html"
    packet_store.close()  # the CLI is another process; release this one's handle
    result = run_analytics("report", "--db", packet_store.target, "--out", str(out),
                           "--as-of", "2026-03-20", "--program", qi_fixture.PROGRAM, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("<!DOCTYPE html>")
    from analytics.store import Store

    check = Store(packet_store.target)
    try:
        with check.read() as cur:
            rows = cur.execute("SELECT action, detail FROM main.audit_log WHERE action = 'report'").fetchall()
    finally:
        check.close()
    assert len(rows) == 1
    detail = json.loads(rows[0][1])
    assert detail["files"]["html"] == str(out)
    assert detail["filters"]["Programs"] == qi_fixture.PROGRAM


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("chromium")
def test_opens_offline_without_any_request_or_script_from_data(packet_html, tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "packet.html"
    path.write_text(packet_html, encoding="utf-8")
    requests, dialogs = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=report.CHROMIUM, args=report.CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def guard(route):
                if route.request.url.startswith("file:"):
                    route.continue_()
                else:
                    requests.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
                ".every(d => d.querySelector('.main-svg'))", timeout=60_000)
            rendered = page.evaluate("document.querySelectorAll('.plotly-graph-div .main-svg').length")
            text = page.inner_text("body")
        finally:
            browser.close()
    assert requests == []
    assert dialogs == []
    assert rendered >= packet_html.count('class="plotly-graph-div"')
    assert HOSTILE_TITLE in text  # shown as text in the interventions list


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.usefixtures("chromium")
def test_pdf_is_printed_with_charts(packet_html, tmp_path):
    out = tmp_path / "packet.pdf"
    report.write_pdf(packet_html, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 50_000  # charts drawn, not blank pages
    assert not list(tmp_path.glob("*.print.html"))


def test_empty_store_still_builds_a_packet(store_file):
    html_text = report.build_report_html(store_file, Filters(), Scope(), generated_by="t")
    # 7 control charts (each saying why it is empty), no funnel, retention, dose and mix
    assert html_text.count('class="plotly-graph-div"') == 10
    assert "Data as of <strong>no data</strong>" in html_text


def test_tiles_complement_active_and_discharged():
    # 8 active of 400 episodes: the 392 discharged would give the 8 away, so it is hidden too.
    values = {"active_episodes": 8, "episodes": 400, "discharged": 392, "completed": 150,
              "completion_rate": 150 / 392, "retention_week_4": 0.8, "retention_week_8": 0.7,
              "retention_week_12": 0.6, "attendance_rate": 0.8, "no_show_rate": 0.1,
              "dose_target_met_rate": 0.5, "median_weekly_hours": 8.0, "patients": 380,
              "session_patients": 380, "dose_patients": 370}
    tiles = {t.key: t for t in report.suppressed_tiles(values, 11)}
    assert tiles["active_episodes"].value == "<11"
    assert tiles["discharged"].value == "<11"
    assert tiles["episodes"].value == 400
    # the completion rate rests on the hidden discharged count
    assert tiles["completion_rate"].value == "<11"
    assert tiles["attendance_rate"].value == 0.8 and tiles["attendance_rate"].status == "green"
    assert tiles["no_show_rate"].status == "green" and tiles["dose_target_met_rate"].status == "red"

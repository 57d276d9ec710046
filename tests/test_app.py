"""The dashboard pages under Streamlit's AppTest, on the bundled sample data.

- every page renders without an exception and draws its charts;
- a filter change changes the figures, and the filters survive a page switch;
- a page run on its own (as a deep link would) gets the shared filters and passes the access gate;
- ten threads querying one Store at once all get the single-threaded answers.
"""
from __future__ import annotations

import json
import shutil
import threading
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters, Scope
from analytics.store import Store, open_store, set_meta
from analytics.metrics import coverage, discharges, dose, mix, retention, sessions
from ui.auth import LOCAL_BANNER
from tests.support import REPO_ROOT, app_test, run_page
from ui.context import K_PROGRAMS, K_SITES

# page file -> the fewest Plotly charts it draws on the sample data
PAGES = {
    "pages/overview.py": 6,
    "pages/retention.py": 4,
    "pages/attendance.py": 5,
    "pages/therapy_mix.py": 4,
    "pages/outcomes.py": 5,
    "pages/access.py": 8,
    "pages/qi.py": 5,
    "pages/data.py": 1,
}


@pytest.fixture
def app_env(sample_store_path, monkeypatch) -> str:
    monkeypatch.setenv("IOP_DB", sample_store_path)
    monkeypatch.delenv("IOP_ALLOW_ANONYMOUS", raising=False)
    return sample_store_path


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    # guarded() turns a failing section into a warning; none may fail on the sample data
    failed = [w.value for w in at.warning if "could not be computed" in w.value]
    assert not failed, failed


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_with_charts_and_shared_filters(app_env, page):
    at = run_page(page)
    assert_clean(at)
    assert len(at.get("plotly_chart")) >= PAGES[page], page
    # The shared filters are there when the page runs on its own (as a deep link would).
    assert at.multiselect(key=K_SITES) is not None
    assert at.multiselect(key=K_PROGRAMS) is not None
    assert any("Data as of" in c.value for c in at.caption), "no 'Data as of' line"
    for spec in chart_specs(at):
        title = spec["layout"].get("title", {}).get("text")
        assert title, "a chart without a title"


@pytest.mark.parametrize("page", list(PAGES))
def test_page_run_on_its_own_passes_the_access_gate(sample_store_path, tmp_path, monkeypatch, page):
    """A store holding imported data is refused in local mode; every page must stop at the gate."""
    imported = tmp_path / "imported.duckdb"
    shutil.copy(sample_store_path, imported)
    store = Store(str(imported))
    with store.write() as cur:
        set_meta(cur, "contents", "imported")
    store.close()
    monkeypatch.setenv("IOP_DB", str(imported))
    monkeypatch.delenv("IOP_ALLOW_ANONYMOUS", raising=False)
    at = run_page(page)
    assert not at.exception
    assert any("holds imported data" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 0
    assert len(at.get("metric")) == 0
    assert len(at.dataframe) == 0


def test_filter_change_changes_the_figures(app_env):
    at = run_page("pages/retention.py")
    before = chart_specs(at)
    sites = at.multiselect(key=K_SITES).options
    assert len(sites) >= 2
    at.multiselect(key=K_SITES).select(sites[0]).run()
    assert_clean(at)
    after = chart_specs(at)
    assert len(after) >= 1
    assert [s["data"] for s in after] != [s["data"] for s in before]
    # The filter line names the site (as plain text).
    assert any(sites[0] in t.value for t in at.text)


def test_attendance_figures_follow_the_program_filter(app_env):
    at = run_page("pages/attendance.py")
    before = [m.value for m in at.metric]
    programs = at.multiselect(key=K_PROGRAMS).options
    at.multiselect(key=K_PROGRAMS).select(programs[-1]).run()
    assert_clean(at)
    assert [m.value for m in at.metric] != before


def test_filters_persist_across_pages(app_env):
    at = run_page("dashboard.py")
    assert_clean(at)
    assert any(t.value == "IOP outcomes overview" for t in at.title)
    site = at.multiselect(key=K_SITES).options[-1]
    at.multiselect(key=K_SITES).select(site).run()
    at.switch_page("pages/therapy_mix.py").run()
    assert_clean(at)
    assert any(t.value == "Therapy mix" for t in at.title)
    assert at.multiselect(key=K_SITES).value == [site]
    at.switch_page("pages/retention.py").run()
    assert at.multiselect(key=K_SITES).value == [site]
    # Reset clears them on every page.
    at.button(key="flt_reset").click().run()
    assert at.multiselect(key=K_SITES).value == []


def test_empty_selection_says_so_in_words(app_env):
    at = run_page("pages/retention.py")
    at.date_input(key="flt_admitted").set_value(at.date_input(key="flt_admitted").value[:1]).run()
    # One date picked: the range is open-ended, still no exception.
    assert_clean(at)
    programs = at.multiselect(key=K_PROGRAMS).options
    sites = at.multiselect(key=K_SITES).options
    # Narrow to one site and one program and the last days of admissions: tiny groups.
    at.multiselect(key=K_SITES).select(sites[0]).run()
    at.multiselect(key=K_PROGRAMS).select(programs[0]).run()
    last = at.date_input(key="flt_admitted").max
    at.date_input(key="flt_admitted").set_value((last, last)).run()
    assert_clean(at)
    notes = [i.value for i in at.info if i.value != LOCAL_BANNER]
    assert notes, "an almost empty selection must be explained in words"


# -- concurrency --------------------------------------------------------------
CALLS = (
    (sessions.session_rates, ()),
    (sessions.rates_by, ("month",)),
    (retention.retention_curve, ()),
    (discharges.discharge_reasons_by_month, ()),
    (dose.dose_summary, ()),
    (mix.mix_by_program_week, ()),
    (coverage.site_last_dates, ()),
)


def _same(a, b) -> bool:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
        return True
    return a == b


def test_ten_threads_share_one_store_correctly(sample_store_path):
    from ui.data import call

    store = open_store(sample_store_path)
    with store.read() as cur:
        sites = [r[0] for r in cur.execute("SELECT DISTINCT site FROM enrollments ORDER BY 1").fetchall()]
        programs = [r[0] for r in cur.execute("SELECT DISTINCT program FROM enrollments ORDER BY 1").fetchall()]
    # Ten sessions with different filters (and one site lead), as ten users would have.
    filter_sets = [Filters()] + [Filters(sites=(s,)) for s in sites] + [Filters(programs=(p,)) for p in programs]
    jobs = [(filter_sets[i % len(filter_sets)], Scope() if i != 9 else Scope(allowed_sites=(sites[0],), role="site_lead"))
            for i in range(10)]
    expected = [[call(store.target, f, s, fn, *args) for fn, args in CALLS] for f, s in jobs]

    barrier = threading.Barrier(10)
    results: list[list | None] = [None] * 10
    errors: list[BaseException] = []
    overlap: list[int] = []

    def work(i: int) -> None:
        try:
            f, s = jobs[i]
            barrier.wait(timeout=60)
            with store.read():
                overlap.append(store._readers)  # readers inside at this moment (not queued)
                results[i] = [call(store.target, f, s, fn, *args) for fn, args in CALLS]
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    for got, want in zip(results, expected):
        assert got is not None
        for g, w in zip(got, want):
            assert _same(g, w)
    # Readers hold their own cursors side by side instead of queueing on one connection.
    assert max(overlap) > 1
    # The site lead's thread saw only their site.
    lead_last_dates = results[9][CALLS.index((coverage.site_last_dates, ()))]
    assert set(lead_last_dates["site"]) == {sites[0]}


def test_at_risk_list_has_no_download_and_is_audited(app_env):
    from analytics.store import open_store

    at = run_page("pages/qi.py")
    assert_clean(at)
    downloads_before = {b.proto.id for b in at.get("download_button")}
    at.toggle(key="qi_show_atrisk").set_value(True).run()
    assert_clean(at)
    assert len(at.table) == 1 or any("No patient" in s.value for s in at.success)
    # Showing the list adds no download button (st.table has no download control either).
    assert {b.proto.id for b in at.get("download_button")} == downloads_before
    with open_store(app_env).read() as cur:
        views = cur.execute("SELECT count(*) FROM audit_log WHERE action = 'view_at_risk'").fetchone()[0]
    assert views >= 1


def test_extra_column_filter_changes_the_figures(app_env):
    at = run_page("pages/therapy_mix.py")
    before = [s["data"] for s in chart_specs(at)]
    column = at.selectbox(key="flt_extra_column")
    extra = [c for c in column.options if c != "(none)"]
    assert extra, "the sample has extra enrollment columns"
    column.select(extra[0]).run()
    values = at.multiselect(key="flt_extra_values")
    values.select(values.options[0]).run()
    assert_clean(at)
    assert [s["data"] for s in chart_specs(at)] != before
    assert any(f"{extra[0]}: {values.options[0]}" in t.value for t in at.text)


def test_markdown_escape_keeps_names_literal():
    from ui.widgets import md_escape

    assert md_escape("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert\\(1\\)\\>"
    assert md_escape("**North** [x](http://y)") == "\\*\\*North\\*\\* \\[x\\]\\(http\\://y\\)"


def test_chart_text_from_data_is_escaped_for_plotly():
    import pandas as pd

    from analytics.report import figures

    evil = "<img src=x onerror=alert(1)>"
    fig = figures.bar_chart(pd.DataFrame({"site": [evil, "North"], "rate": [0.5, 0.6]}), x="site", y="rate",
                           title="t", x_title="Site", y_title="Rate (%)", percent=True)
    assert evil not in fig.to_json()
    assert "&lt;img src=x onerror=alert(1)&gt;" in list(fig.data[0].x)


# -- attendance: cancellations beside no-shows; data: pseudonymisation without an opt-out ----------
def test_attendance_charts_show_cancellations_beside_no_shows(app_env):
    at = run_page("pages/attendance.py")
    assert_clean(at)
    wanted = {"Attendance", "No-show", "Cancelled by patient", "Cancelled by program"}
    titles = {}
    for spec in chart_specs(at):
        titles[spec["layout"]["title"]["text"]] = {t.get("name") for t in spec["data"]}
    over_time = [names for title, names in titles.items() if title.startswith("Attendance, no-show and cancellation")]
    by_group = [names for title, names in titles.items() if title.startswith("Session rates by")]
    assert over_time and wanted <= over_time[0], titles
    assert by_group and wanted <= by_group[0], titles
    labels = [m.label for m in at.metric]
    i = labels.index("No-show rate")
    assert labels[i + 1:i + 3] == ["Cancelled by patient", "Cancelled by program"]


def test_data_page_pseudonymises_every_import_when_a_key_is_configured(app_env):
    at = app_test("pages/data.py")
    at.secrets["pseudonymisation"] = {"key": "k" * 40}
    at.run()
    assert_clean(at)
    assert len(at.checkbox) == 0, "pseudonymisation must not be optional when a key is configured"
    assert any("pseudonyms on every import" in i.value for i in at.info)
    # Without a key the page says plainly that ids are stored as exported.
    at = run_page("pages/data.py")
    assert_clean(at)
    assert len(at.checkbox) == 0
    assert any("stored as exported" in c.value for c in at.caption)
    # Coverage's "How this is computed" points at its section of docs/metrics.md, which exists.
    assert any("docs/metrics.md#data-coverage" in c.value for c in at.caption)
    assert "\n## Data coverage\n" in (REPO_ROOT / "docs" / "metrics.md").read_text()
    assert not any("pseudonyms on every import" in i.value for i in at.info)

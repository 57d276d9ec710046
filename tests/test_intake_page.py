"""The Access page under AppTest, for every role, on generated data with referrals.

- a director sees every section drawn, with a "How this is computed" note and a table
  with its download for each;
- a site lead sees only their site's referrals and episodes, whatever the sidebar names;
- an analyst sees no small cell: on the tiny site nothing at all, and everywhere every
  count shown is 0 or at least 11;
- with no login configured the page refuses a store of imported data (tests/test_app.py
  checks the same for every page, this one included).
"""
from __future__ import annotations

import shutil

import pytest
from test_access import roles_toml
from test_analyst_view import SHOWN_AS_HIDDEN, shown_figures, shown_metrics

from analytics.filters import Filters, Scope
from analytics.metrics import intake
from analytics.store import Store, set_meta
from tests.support import run_page
from ui.context import K_SITES

PAGE = "pages/access.py"
ROLES = roles_toml("director@example.org", "lead@example.org", "Hillcrest")
SECTIONS = ("From first contact to the fourth day of care", "Referral outcomes by month of first contact",
            "Admission rate compared, within each program", "Waits from first contact to care",
            "Continuation in the first 28 days", "IET-style initiation and engagement (not the HEDIS measure)")


@pytest.fixture
def env(full_store_path, tmp_path, monkeypatch):
    import streamlit as st

    st.cache_data.clear()
    store = tmp_path / "store.duckdb"
    shutil.copy(full_store_path, store)  # downloads and logins write audit rows
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES)
    monkeypatch.setenv("IOP_DB", str(store))
    monkeypatch.setenv("IOP_ROLES_FILE", str(roles))
    monkeypatch.delenv("IOP_ALLOW_ANONYMOUS", raising=False)
    yield str(store)
    st.cache_data.clear()


def _clean(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    failed = [w.value for w in at.warning if "could not be computed" in w.value]
    assert not failed, failed


def test_director_sees_every_section_with_its_definition_and_download(env):
    at = run_page(PAGE, email="director@example.org")
    _clean(at)
    assert [s.value for s in at.subheader] == list(SECTIONS)
    assert len(at.get("plotly_chart")) >= 7
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Median wait", "Continuation to day 4"] and "Admission rate" in labels
    assert sum("docs/metrics.md#" in c.value or "docs/qi.md#" in c.value for c in at.caption) >= 7
    downloads = {b.proto.id for b in at.get("download_button")}
    for name in ("contact_path", "referral_outcomes_by_month", "wait_distribution", "wait_by_month",
                 "continuation_by_site", "iet_by_month"):
        assert any(f"dl_{name}" in d for d in downloads), name
    # the tiles say what the metrics command says
    with Store(env).read() as cur:
        from analytics.store import bind_filters

        bind_filters(cur, Filters())
        figures = intake.access_summary(cur)
    assert dict(zip(labels, (m.value for m in at.metric)))["Referrals"] == f"{figures.referrals:,}"


def test_site_lead_sees_only_their_sites_referrals(env):
    from ui.data import call

    lead = run_page(PAGE, email="lead@example.org")
    _clean(lead)
    assert lead.multiselect(key=K_SITES).options == ["Hillcrest"]
    shown = dict((m.label, m.value) for m in lead.metric)
    mine = call(env, Filters(sites=("Hillcrest",)), Scope(), intake.access_summary)
    everyone = call(env, Filters(), Scope(), intake.access_summary)
    assert shown["Referrals"] == f"{mine.referrals:,}" != f"{everyone.referrals:,}"
    outcomes = next(d.value for d in lead.dataframe if "referrals" in d.value.columns and "admitted" in d.value.columns)
    assert outcomes["referrals"].sum() == mine.referrals
    # a lead who names another site in a tampered session state still sees only their own
    tampered = run_page(PAGE, email="lead@example.org", state={K_SITES: ["Northgate"]})
    _clean(tampered)
    assert dict((m.label, m.value) for m in tampered.metric)["Referrals"] in (f"{mine.referrals:,}", "0")


def test_analyst_sees_no_small_cell(env):
    analyst = run_page(PAGE, email="analyst@example.org")
    _clean(analyst)
    for frame in (d.value for d in analyst.dataframe):
        for column in frame.columns:
            if column in ("referrals", "episodes", "eligible", "initiated", "engaged", *intake.OUTCOMES,
                          *(f"continued_{k}" for k in intake.CARE_DAYS)):
                for value in frame[column]:
                    assert value in ("<11", "") or float(value) == 0 or float(value) >= 11, (column, value)
    assert shown_figures(analyst)  # large groups keep their figures
    analyst.multiselect(key=K_SITES).select("Pinewood").run()  # the tiny site
    _clean(analyst)
    # nothing but zeros, which may be shown (a zero count identifies no one)
    assert [(title, n) for title, n in shown_figures(analyst) if n != 0] == []
    assert [(label, v) for label, v in shown_metrics(analyst) if v not in SHOWN_AS_HIDDEN] == []


def test_a_director_on_the_tiny_site_sees_its_figures(env):
    """The analyst checks above would find these figures without the suppression."""
    at = run_page(PAGE, email="director@example.org")
    at.multiselect(key=K_SITES).select("Pinewood").run()
    _clean(at)
    assert shown_figures(at) or [v for _, v in shown_metrics(at) if v not in SHOWN_AS_HIDDEN]


def test_the_breakdown_control_offers_the_referral_columns(env):
    at = run_page(PAGE, email="director@example.org")
    box = at.selectbox(key="acc_funnel_by")
    assert box.options == ["Site", "Referral source"] and box.value == "referral_source"
    box.select("site").run()
    _clean(at)
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Admission rate by site" in t for t in titles)


def test_local_mode_refuses_imported_data_on_this_page(env):
    store = Store(env)
    with store.write() as cur:
        set_meta(cur, "contents", "imported")
    store.close()
    at = run_page(PAGE)
    assert not at.exception
    assert any("holds imported data" in e.value for e in at.error)
    assert len(at.get("plotly_chart")) == 0 and len(at.metric) == 0


# -- the Overview's access tiles ---------------------------------------------------------------
def _overview_tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _window_filters(at, sites: tuple[str, ...] = ()) -> Filters:
    """The admission window the Overview's caption names, as filters."""
    from datetime import datetime

    caption = next(c.value for c in at.caption if c.value.startswith("Tiles: episodes admitted in"))
    start, end = caption.split("(", 1)[1].split(")", 1)[0].split(" to ")
    return Filters(sites=sites, admitted_from=datetime.strptime(start, "%d %b %Y").date(),
                   admitted_to=datetime.strptime(end, "%d %b %Y").date())


@pytest.mark.parametrize("window", ["Last 12 months", "Last 6 months"])
def test_the_overview_shows_the_wait_and_day_4_tiles(env, window):
    from analytics import formatting
    from analytics.report.tiles import kpi_values
    from ui.data import call

    at = run_page("pages/overview.py", email="director@example.org")
    at.segmented_control(key="ov_window").set_value(window).run()
    _clean(at)
    assert f"episodes admitted in {window.lower()} (" in " ".join(c.value for c in at.caption)
    values = call(env, _window_filters(at), Scope(), kpi_values)
    tiles = _overview_tiles(at)
    assert values["wait_measured"] > 11 and values["continuation_eligible"] > 11
    assert tiles["Median wait"] == formatting.number(values["median_wait_days"], "days")
    assert tiles["Continuation to day 4"] == formatting.number(values["continuation_day_4"], "rate")


def test_the_overview_access_tiles_are_suppressed_for_an_analyst(env):
    from analytics.report.tiles import kpi_values
    from ui.data import call

    def on_the_tiny_site(email):
        at = run_page("pages/overview.py", email=email)
        at.multiselect(key=K_SITES).select("Pinewood").run()
        _clean(at)
        return at

    director, analyst = on_the_tiny_site("director@example.org"), on_the_tiny_site("analyst@example.org")
    values = call(env, _window_filters(director, ("Pinewood",)), Scope(), kpi_values)
    assert 0 < values["continuation_eligible"] < 11  # the director sees a real, small figure
    assert _overview_tiles(director)["Continuation to day 4"] not in SHOWN_AS_HIDDEN
    shown = _overview_tiles(analyst)
    assert shown["Continuation to day 4"] == "<11" and shown["Median wait"] in SHOWN_AS_HIDDEN

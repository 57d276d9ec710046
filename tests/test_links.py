"""Links that carry their filters: the shared filters and the as-of date in the page URL.

- ui.links reads a link's query parameters into Filters within the user's options and
  leaves out the rest with a note that never repeats the link's text; written back, the
  Filters give the same parameters.
- Every page of dashboard.py's navigation, reached directly with query parameters,
  applies them (the same figures as the same filters chosen in the sidebar) and keeps
  them in the URL, also after a page switch.
- A site lead's link to another site, with invalid values beside it, shows the lead's
  own scope and plain notes that do not name the site; never an error.
"""
from __future__ import annotations

import json
import re
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters
from analytics.metrics.filter_options import FilterOptions
from tests.support import REPO_ROOT, app_test
from tests.test_analyst_view import pages_on
from ui import links
from ui.context import K_AS_OF, K_DATES, K_PROGRAMS, K_SITES

# Every page of the navigation, read from dashboard.py so that a new page is covered too.
PAGES = re.findall(r'st\.Page\(\s*"(pages/\w+\.py)"', (REPO_ROOT / "dashboard.py").read_text())
LEAD_SITE, OTHER_SITE = "Lakeview", "Northgate"
ROLES = (REPO_ROOT / "tests" / "fixtures" / "roles" / "director_and_lakeview_lead.toml").read_text()
# A view of the sample data (admissions 2024-11-01 to 2026-10-30): one site, one program,
# admitted from a date, as seen on an earlier day than the data's end.
AS_OF = date(2026, 6, 30)
LINK = {"as_of": "2026-06-30", "from": "2025-01-01", "site": "Hillcrest", "program": "Adult IOP"}


@pytest.fixture
def env(sample_store_path, tmp_path, monkeypatch):
    yield from pages_on(sample_store_path, ROLES, tmp_path, monkeypatch)


def opened(page: str, email: str, params: dict | None = None) -> AppTest:
    at = app_test(page, email=email)
    at.query_params.update(params or {})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [w.value for w in at.warning if "could not be computed" in w.value]
    return at


def chart_specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def filter_line(at: AppTest) -> str:
    return next(t.value for t in at.text if t.value.startswith("Filters:"))


def link_notes(at: AppTest) -> list[str]:
    return [i.value for i in at.sidebar.info]


# -- reading and writing the parameters ------------------------------------------------
OPTS = FilterOptions(sites=("East", "North"), programs=("Adult IOP",), admit_min=date(2024, 1, 1),
                     admit_max=date(2024, 6, 30), extra=(("payer", ("Medicaid", "Private")),))
CUTOFF = date(2024, 7, 15)


def test_a_valid_link_round_trips():
    params = {"as_of": ["2024-05-31"], "from": ["2024-02-01"], "to": ["2024-04-30"], "site": ["East", "North"],
              "program": ["Adult IOP"], "column": ["payer"], "value": ["Medicaid"]}
    filters, notes = links.filters_from_query(params, OPTS, CUTOFF)
    assert notes == ()
    assert filters == Filters(admitted_from=date(2024, 2, 1), admitted_to=date(2024, 4, 30), sites=("East", "North"),
                              programs=("Adult IOP",), extra=(("payer", "Medicaid"),), as_of=date(2024, 5, 31))
    assert links.query_from_filters(filters) == params


def test_the_data_range_and_the_cutoff_are_no_filter():
    params = {"as_of": ["2024-07-15"], "from": ["2024-01-01"], "to": ["2024-06-30"]}
    assert links.filters_from_query(params, OPTS, CUTOFF) == (Filters(), ())
    assert links.query_from_filters(Filters()) == {}


@pytest.mark.parametrize("params, note", [
    ({"as_of": ["31/03/2024"]}, links.NOTE_AS_OF),
    ({"as_of": ["2024-07-16"]}, links.NOTE_AS_OF),  # after the data's cutoff
    ({"as_of": ["2023-12-31"]}, links.NOTE_AS_OF),  # before the first admission
    ({"from": ["2024-02-30"]}, links.NOTE_ADMITTED),
    ({"to": ["2025-01-01"]}, links.NOTE_ADMITTED),
    ({"from": ["2024-05-01"], "to": ["2024-03-01"]}, links.NOTE_ADMITTED),
    ({"site": ["South"]}, links.NOTE_SITE),
    ({"site": ["<img src=x onerror=alert(1)>"]}, links.NOTE_SITE),
    ({"program": ["Teen IOP"]}, links.NOTE_PROGRAM),
    ({"column": ["patient_id"], "value": ["1"]}, links.NOTE_COLUMN),
    ({"column": ["payer"], "value": ["Medicare"]}, links.NOTE_COLUMN),
    ({"value": ["Medicaid"]}, links.NOTE_COLUMN),
])
def test_what_a_link_may_not_ask_for_is_left_out_with_a_note(params, note):
    filters, notes = links.filters_from_query(params, OPTS, CUTOFF)
    assert filters == Filters()
    assert notes == (note,)
    # The notes are fixed sentences: nothing of the link is repeated.
    assert not any(v in note for values in params.values() for v in values)


def test_the_allowed_part_of_a_link_is_kept():
    filters, notes = links.filters_from_query({"site": ["South", "North"], "as_of": ["x"]}, OPTS, CUTOFF)
    assert filters == Filters(sites=("North",))
    assert set(notes) == {links.NOTE_SITE, links.NOTE_AS_OF}


# -- the pages ---------------------------------------------------------------------------
def test_every_navigation_page_is_covered():
    assert len(PAGES) >= 6 and all((REPO_ROOT / p).is_file() for p in PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reached_with_a_link_applies_its_filters(env, page):
    at = opened(page, "director@example.org", LINK)
    assert at.multiselect(key=K_SITES).value == ["Hillcrest"]
    assert at.multiselect(key=K_PROGRAMS).value == ["Adult IOP"]
    assert at.date_input(key=K_AS_OF).value == AS_OF
    assert at.date_input(key=K_DATES).value[0] == date(2025, 1, 1)
    assert any(c.value == f"Data as of {AS_OF}" for c in at.caption)
    assert "Sites: Hillcrest; Programs: Adult IOP" in filter_line(at)
    assert "Admitted from: 2025-01-01" in filter_line(at)
    assert link_notes(at) == []
    # The URL keeps them (written back by the run).
    assert {k: at.query_params.get(k) for k in LINK} == LINK
    # The same filters chosen in the sidebar give the same figures.
    by_hand = opened(page, "director@example.org")
    unfiltered = chart_specs(by_hand)
    by_hand.date_input(key=K_AS_OF).set_value(AS_OF)
    by_hand.date_input(key=K_DATES).set_value((date(2025, 1, 1), by_hand.date_input(key=K_DATES).value[1]))
    by_hand.multiselect(key=K_SITES).select("Hillcrest")
    by_hand.multiselect(key=K_PROGRAMS).select("Adult IOP")
    by_hand.run()
    assert not by_hand.exception
    assert chart_specs(by_hand) == chart_specs(at)
    if unfiltered:  # a page without charts (none yet) still checks the filter line above
        assert chart_specs(at) != unfiltered
    assert filter_line(by_hand) == filter_line(at)
    assert {k: by_hand.query_params.get(k) for k in LINK} == LINK


@pytest.mark.parametrize("page", PAGES)
def test_a_link_to_another_site_shows_the_users_own_scope_and_a_note(env, page):
    tampered = {"site": [OTHER_SITE], "as_of": "not-a-date", "from": "2099-01-01", "program": "<b>x</b>",
                "column": "patient_id", "value": "1"}
    at = opened(page, "lead@example.org", tampered)
    own = opened(page, "lead@example.org")
    notes = link_notes(at)
    assert set(notes) == {links.NOTE_SITE, links.NOTE_AS_OF, links.NOTE_ADMITTED, links.NOTE_PROGRAM,
                          links.NOTE_COLUMN}
    assert not any(OTHER_SITE in n for n in notes)
    # The lead's own scope, as without the link: nothing of the other site.
    assert at.multiselect(key=K_SITES).value == []
    assert at.multiselect(key=K_SITES).options == [LEAD_SITE]
    assert chart_specs(at) == chart_specs(own)
    assert filter_line(at) == filter_line(own)
    assert [m.value for m in at.metric] == [m.value for m in own.metric]
    assert not any(OTHER_SITE in json.dumps(spec) for spec in chart_specs(at))
    # The URL no longer names what was left out.
    assert all(k not in at.query_params for k in tampered)
    # A filter change ends the notes: they were about the link.
    at.multiselect(key=K_SITES).select(LEAD_SITE).run()
    assert link_notes(at) == []


def test_the_link_survives_a_page_switch(env):
    at = app_test("dashboard.py", email="director@example.org")
    at.query_params.update(LINK)
    at.run()
    assert not at.exception
    at.switch_page("pages/therapy_mix.py").run()
    assert not at.exception
    assert at.multiselect(key=K_SITES).value == ["Hillcrest"]
    assert at.date_input(key=K_AS_OF).value == AS_OF
    assert {k: at.query_params.get(k) for k in LINK} == LINK
    # Reset empties the filters and the URL.
    at.button(key="flt_reset").click().run()
    assert all(k not in at.query_params for k in LINK)
    assert at.date_input(key=K_AS_OF).value > AS_OF

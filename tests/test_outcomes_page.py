"""The Clinical outcomes page under AppTest, for every role, on the sample with assessment scores.

- a director sees the Jacobson-Truax plot point by point, the tiles and every section;
- a site lead sees only their site's figures, equal to the analytics for that scope;
- an analyst sees the plot binned into cells, and no count from 1 to 10 anywhere on the
  page (tiles, charts, tables);
- a store without scores says so in words; the instrument selector changes the figures;
- the Overview's two tiles of the headline instrument read the analytics, and are absent
  without scores.
The page reached directly, the shared filters and the access gate are in tests/test_app.py (PAGES).
"""
from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from analytics.filters import Filters, Scope
from analytics.metrics import change, measures
from analytics.store import open_store
from analytics.store.queries import default_as_of
from tests.support import run_page
from tests.test_analyst_view import ROLES as ANALYST_VIEW_ROLES
from tests.test_analyst_view import _numbers, pages_on, shown_figures
from ui.context import K_SITES
from ui.data import call

PAGE = "pages/outcomes.py"
LEAD_SITE = "Northgate"
ROLES = ANALYST_VIEW_ROLES + f"""
[users."lead@example.org"]
role = "site_lead"
sites = ["{LEAD_SITE}"]
"""  # a director, an analyst and a site lead
# Columns of the page's tables that count people, episodes, pairs, scores or screens.
COUNT_COLUMNS = ("episodes", "patients", "pairs", "reliably_improved", "no_reliable_change", "reliably_deteriorated",
                 "at_caseness", "recovered", "n", "screens", "positives")


@pytest.fixture
def env(sample_store_path, tmp_path, monkeypatch):
    yield from pages_on(sample_store_path, ROLES, tmp_path, monkeypatch)


def run_as(email: str):
    at = run_page(PAGE, email=email)
    assert not at.exception, [e.value for e in at.exception]
    failed = [w.value for w in at.warning if "could not be computed" in w.value]
    assert not failed, failed
    return at


def traces(at) -> list[dict]:
    return [trace for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def tiles(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_director_sees_the_points_the_tiles_and_every_section(env):
    at = run_as("director@example.org")
    assert [t.value for t in at.title] == ["Clinical outcomes"]
    assert set(tiles(at)) == {"Pairs", "Reliable improvement", "Recovery", "Reliable deterioration",
                              "Measurement completion"}
    assert all(v not in ("—", "<11") for v in tiles(at).values()), tiles(at)
    points = [t for t in traces(at) if t.get("name") == "Episodes"]
    assert len(points) == 1 and points[0]["type"] == "scatter"
    assert not [t for t in traces(at) if t.get("type") == "heatmap"]
    assert any("mean score by program week" in t for t in titles(at))
    assert any("reliable change by site" in t for t in titles(at))
    assert any("share positive by program week" in t for t in titles(at))
    assert [s.value for s in at.subheader] == [
        "Baseline against follow-up (Jacobson-Truax plot)", "Mean score by program week",
        "Change categories by group", "Drug screens by program week"]
    assert len(at.expander) >= 8  # the tables and the definitions


def test_site_lead_sees_only_their_sites_figures(env):
    at = run_as("lead@example.org")
    assert at.multiselect(key=K_SITES).options == [LEAD_SITE]
    lead = Scope(allowed_sites=(LEAD_SITE,), actor="lead@example.org", role="site_lead")
    expected = call(env, Filters(), lead, change.change_points, "phq9")
    drawn = next(t for t in traces(at) if t.get("name") == "Episodes")
    assert _numbers(drawn["x"]) == list(expected["baseline"].astype(float)) and 0 < len(expected)
    assert _numbers(drawn["y"]) == list(expected["followup"].astype(float))
    everyone = call(env, Filters(), Scope(), change.change_points, "phq9")
    assert len(everyone) > len(expected)
    # the change categories list the lead's site only
    table = next(df.value for df in at.dataframe if "reliably_improved" in df.value.columns)
    assert list(table["site"]) == [LEAD_SITE]


def _small_counts(frame: pd.DataFrame) -> list[tuple[str, object]]:
    out = []
    for col in (c for c in COUNT_COLUMNS if c in frame.columns):
        for v in frame[col]:
            number = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
            if pd.notna(number) and 0 < number < 11:
                out.append((col, v))
    return out


def test_analyst_sees_the_binned_plot_and_no_small_count(env):
    at = run_as("analyst@example.org")
    assert not [t for t in traces(at) if t.get("name") == "Episodes"], "point-by-point plot shown to an analyst"
    grid = [t for t in traces(at) if t.get("type") == "heatmap"]
    assert len(grid) == 1
    texts = [v for row in grid[0]["text"] for v in row]
    assert "<11" in texts, "the sample's small cells must read <11"
    assert all(v == "<11" or int(v.replace(",", "")) == 0 or int(v.replace(",", "")) >= 11 for v in texts)
    numbers = [n for _, n in shown_figures(at)]
    assert numbers, "an analyst still sees the large cells and weeks"
    for frame in (df.value for df in at.dataframe):
        assert _small_counts(frame) == [], frame.columns.tolist()
    assert any("hidden (small-cell suppression)" in c.value for c in at.caption)


def test_the_binned_plot_hides_small_cells_and_one_more(env):
    """Analytics level: the grid's declared suppression hides every count of 1 to 10, and a
    second cell whenever a single hidden cell could be worked out from the pairs total."""
    from analytics.privacy.suppression import suppression_of

    director = call(env, Filters(), Scope(), change.change_grid, "phq9")
    safe = suppression_of(change.change_grid).apply(director, "phq9", threshold=11)
    small = director["episodes"].between(1, 10)
    assert small.any() and (safe.loc[small, "episodes"] == "<11").all()
    assert (safe.loc[director["episodes"] == 0, "episodes"] == 0).all()
    # one pairs total over the cells: total minus the shown cells never gives away one hidden cell
    assert (safe["episodes"] == "<11").sum() != 1
    # a grid with exactly one small cell gets a second one hidden
    lone = director.assign(episodes=[30 if i else 4 for i in range(len(director))])
    lone.loc[5, "episodes"] = 12
    hidden = suppression_of(change.change_grid).apply(lone, "phq9", threshold=11)["episodes"] == "<11"
    assert hidden.sum() == 2 and hidden.iloc[0] and hidden.iloc[5]


def test_another_instrument_changes_the_figures(env):
    at = run_as("director@example.org")
    before = tiles(at)
    at.selectbox(key="oc_instrument").set_value("gad7").run()
    assert not at.exception
    assert tiles(at) != before
    assert any(t.startswith("GAD-7") for t in titles(at))
    at.selectbox(key="oc_instrument").set_value("bam_risk").run()
    assert not at.exception
    # no reliable change, no clinical range: the categories are explained, not drawn
    assert any("no reliable change and no clinical range" in i.value for i in at.info)
    assert tiles(at)["Reliable improvement"] == "—"


def test_a_store_without_scores_says_so(store_without_scores, tmp_path, monkeypatch):
    with open_store(store_without_scores).read() as cur:
        assert not measures.store_has_scores(cur)
    for _ in pages_on(store_without_scores, ROLES, tmp_path, monkeypatch):
        at = run_page(PAGE, email="director@example.org")
        assert not at.exception
        assert any("No assessment scores have been imported yet" in i.value for i in at.info)
        assert len(at.get("plotly_chart")) == 0
        overview = run_page("pages/overview.py", email="director@example.org")  # no outcome tile there
        assert not overview.exception and overview.metric
        assert not [m.label for m in overview.metric if "PHQ-9" in m.label]


def test_the_overview_shows_the_headline_instruments_two_tiles(env):
    """The Overview's PHQ-9 tiles read what the analytics give for its default period (the last
    12 months up to as_of), against the 12 months before."""
    from analytics.formatting import number
    from ui.period import DEFAULT_WINDOW, WINDOWS, TilePeriod

    at = run_page("pages/overview.py", email="director@example.org")
    assert not at.exception, [e.value for e in at.exception]
    shown = tiles(at)
    with open_store(env).read() as cur:
        as_of = default_as_of(cur)
    period = TilePeriod(as_of - timedelta(days=WINDOWS[DEFAULT_WINDOW] - 1), as_of, DEFAULT_WINDOW.lower())
    director = Scope(actor="director@example.org", role="director")
    now = call(env, period.filters(Filters()), director, measures.instrument_measures, "phq9")
    assert 0 < now.pairs
    assert shown["PHQ-9 reliable improvement"] == number(now.reliable_improvement_rate, "rate")
    assert shown["PHQ-9 measurement completion"] == number(now.measurement_completion_rate, "rate")
    assert now.reliable_improvement_rate != now.measurement_completion_rate  # two figures, not one twice

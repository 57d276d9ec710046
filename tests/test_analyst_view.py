"""An analyst (suppressed figures only) sees no small count anywhere on a page.

The sample data's site "Pinewood" has 6 episodes (6 patients): with the sidebar
filter on Pinewood, every figure on every page rests on fewer than 11 patients, so
an analyst must see no value in any chart trace and "<11" or "—" in every tile.
The same pages for a director (same store, same filter) show real values, which
is what these checks would find if the suppression in ui/data.py were removed.
"""
from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.filters import Filters, Scope
from analytics.store import open_store
from tests.support import run_page
from ui.context import K_SITES

TINY = "Pinewood"
PAGES = ("pages/overview.py", "pages/retention.py", "pages/attendance.py", "pages/therapy_mix.py", "pages/qi.py",
         "pages/data.py", "pages/outcomes.py", "pages/access.py")
ROLES = """
[users."director@example.org"]
role = "director"

[users."analyst@example.org"]
role = "analyst"
"""


def pages_on(store_path: str, roles: str, tmp_path, monkeypatch):
    """Pages read the store at store_path, with the roles file roles (TOML text) and no
    anonymous access; Streamlit's caches emptied around (they live for the process).
    A generator for a fixture to yield from."""
    import streamlit as st

    st.cache_data.clear()
    roles_file = tmp_path / "roles.toml"
    roles_file.write_text(roles)
    monkeypatch.setenv("IOP_ROLES_FILE", str(roles_file))
    monkeypatch.setenv("IOP_DB", store_path)
    monkeypatch.delenv("IOP_ALLOW_ANONYMOUS", raising=False)
    yield store_path
    st.cache_data.clear()


@pytest.fixture
def env(sample_store_path, tmp_path, monkeypatch):
    """The sample store (with its assessment scores) and a roles
    file; Streamlit's caches emptied around each test (one test below runs without the
    suppression)."""
    yield from pages_on(sample_store_path, ROLES, tmp_path, monkeypatch)


def test_the_tiny_site_is_tiny(sample_store_path):
    """The premise: Pinewood has 6 episodes and fewer than 11 patients."""
    with open_store(sample_store_path).read() as cur:
        episodes, patients = cur.execute(
            "SELECT count(*), count(DISTINCT patient_id) FROM main.enrollments WHERE site = ?", [TINY]).fetchone()
    assert episodes == 6 and 0 < patients < 11


def run_as(email: str, page: str) -> AppTest:
    """page for the signed-in email with the sidebar filter on the tiny site."""
    at = run_page(page, email=email)
    assert not at.exception, [e.value for e in at.exception]
    at.multiselect(key=K_SITES).select(TINY).run()
    assert not at.exception, [e.value for e in at.exception]
    failed = [w.value for w in at.warning if "could not be computed" in w.value]
    assert not failed, failed
    return at


def _numbers(value) -> list[float]:
    """Every number in a Plotly JSON value (lists, nested lists, base64 typed arrays)."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return [float(v) for v in arr.ravel()]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    return []


# The keys that carry a trace's figures (not its positions on a category or time axis).
VALUE_KEYS = ("z", "q1", "median", "q3", "lowerfence", "upperfence", "customdata")


def shown_figures(at: AppTest) -> list[tuple[str, float]]:
    """(chart title, number) for every figure drawn in every chart, NaN left out."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "?")
        for trace in spec["data"]:
            keys = list(VALUE_KEYS) + ["x" if trace.get("orientation") == "h" else "y"]
            if trace.get("type") == "heatmap" or trace.get("mode") == "text":
                keys = [k for k in keys if k not in ("x", "y")]
            for key in keys:
                out += [(title, n) for n in _numbers(trace.get(key)) if n == n]
            if trace.get("mode") == "text":  # the number-at-risk row under a retention curve
                out += [(title, float(t)) for t in trace.get("text") or [] if str(t).replace(",", "").isdigit()]
    return out


# A hidden tile reads "<11"; "—" is no value at all; a zero count may be shown (suppression rule 1).
SHOWN_AS_HIDDEN = ("<11", "—", "0")


def shown_metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


@pytest.mark.parametrize("page", PAGES)
def test_analyst_sees_no_figure_of_a_tiny_site(env, page):
    analyst = run_as("analyst@example.org", page)
    figures = shown_figures(analyst)
    assert figures == [], f"{page}: figures an analyst must not see: {figures[:10]}"
    metrics = [(label, v) for label, v in shown_metrics(analyst) if v not in SHOWN_AS_HIDDEN]
    assert metrics == [], f"{page}: tiles an analyst must not see: {metrics}"
    if analyst.get("plotly_chart"):
        assert any("hidden (small-cell suppression)" in c.value for c in analyst.caption)


@pytest.mark.parametrize("page", PAGES)
def test_a_director_sees_the_same_figures(env, page):
    """The checks above find real figures when nothing is suppressed (so they can fail)."""
    director = run_as("director@example.org", page)
    if page == "pages/data.py":
        # The Data page's one chart: sessions per site and month, real for a director.
        assert shown_figures(director)
        return
    assert shown_figures(director) or [v for _, v in shown_metrics(director) if v not in SHOWN_AS_HIDDEN]


def test_without_the_suppression_an_analyst_would_see_the_figures(env, monkeypatch):
    """Remove the one suppression step (ui.suppressed.for_scope) and the analyst check fails."""
    from ui import suppressed

    monkeypatch.setattr(suppressed, "for_scope", lambda scope, name, args, kwargs, result: result)
    analyst = run_as("analyst@example.org", "pages/attendance.py")
    assert shown_figures(analyst)
    assert [v for _, v in shown_metrics(analyst) if v not in SHOWN_AS_HIDDEN]


def test_suppressed_frames_hide_cells_as_nan_and_tables_show_the_marker(sample_store_path):
    """A hidden chart point is NaN (never 0), and the same cell reads '<11' in a table."""
    from analytics.metrics import mix
    from ui.data import call
    from ui.widgets import with_markers

    analyst = Scope(suppressed_only=True, patient_level=False, actor="analyst@example.org", role="analyst")
    director = Scope(actor="director@example.org")
    real = call(sample_store_path, Filters(), director, mix.mix_by, "site")
    seen = call(sample_store_path, Filters(), analyst, mix.mix_by, "site")
    tiny = real["site"] == TINY
    assert tiny.any() and (real.loc[tiny, "patients"] < 11).all()
    assert seen.loc[tiny, ["share", "episodes", "patients", "sessions"]].isna().all().all()
    # Big sites with enough patients keep their figures.
    big = real["patients"] >= 11
    assert big.any()
    assert (seen.loc[big, "share"] == real.loc[big, "share"]).all()
    table = with_markers(seen)
    assert set(table.loc[tiny, "share"]) == {"<11"}


def test_analyst_still_sees_the_figures_of_large_groups(env):
    """Suppression hides small cells, not everything: all sites together are large."""
    at = run_page("pages/attendance.py", email="analyst@example.org")
    assert not at.exception and not [w.value for w in at.warning if "could not be computed" in w.value]
    assert shown_figures(at)
    assert [v for _, v in shown_metrics(at) if v not in SHOWN_AS_HIDDEN]

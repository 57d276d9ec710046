"""The access control charts and the admission-rate funnel plot (analytics/qi/intake.py),
on a hand-made store; every expected point is worked below.

as_of 2024-06-30: as_of - 28 = 06-02, as_of - 47 = 05-14.
e1 admitted 01-10, first contact 01-03: attended 01-10, 01-11, 01-12, 01-15 -> 4 days of care; wait 7;
   initiated 01-10 (index + 7), engaged (01-11, 01-12, 01-15 in 01-11 .. 02-13)
e2 admitted 01-20, first contact 01-10: attended 01-25 only -> 1 day; wait 15; 01-25 is index + 15: not initiated
e3 admitted 02-05, no first contact: attended 02-05, 02-06 -> 2 days; index 02-05, initiated, one more day: not engaged
e4 admitted 05-31, first contact 05-20: attended 05-31, 06-01, 06-02, 06-03 -> 4 days; wait 11
e5 admitted 06-01, first contact 06-01: attended 06-01 -> wait 0

Continuation (admission months ending by 06-02): Jan 1/2, Feb 0/1, May 1/1; June not yet.
Median wait (first-contact months ending by 06-02): Jan median(7, 15) = 11, May 11; June not yet.
Engagement (index months ending by 05-14): Jan 1/2 (e1), Feb 0/1 (e3); May not yet.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import add_enrollments, add_referrals, add_sessions, set_first_contacts

from analytics.filters import Filters, Scope
from analytics.privacy.suppression import suppression_of
from analytics.qi import intake
from analytics.report import qi_figures
from analytics.store import bind_filters

AS_OF = date(2024, 6, 30)


@pytest.fixture
def charts_store(store):
    add_enrollments(store, [
        ("e1", "p1", "North", "Adult IOP", "2024-01-10", None, None),
        ("e2", "p2", "North", "Adult IOP", "2024-01-20", None, None),
        ("e3", "p3", "South", "Adult IOP", "2024-02-05", None, None),
        ("e4", "p4", "South", "Adult IOP", "2024-05-31", None, None),
        ("e5", "p5", "South", "Adult IOP", "2024-06-01", None, None),
    ])
    set_first_contacts(store, {"e1": "2024-01-03", "e2": "2024-01-10", "e4": "2024-05-20", "e5": "2024-06-01"})
    days = {"e1": ["01-10", "01-11", "01-12", "01-15"], "e2": ["01-25"], "e3": ["02-05", "02-06"],
            "e4": ["05-31", "06-01", "06-02", "06-03"], "e5": ["06-01"]}
    add_sessions(store, [(f"{e}-{i}", e, f"2024-{d}", "group", "c1", 180, 180, "attended")
                         for e, ds in days.items() for i, d in enumerate(ds)])
    return store


def _charts(store, scope=Scope()):
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=AS_OF), scope)
        return intake.access_charts(cur)


def _points(chart) -> list[tuple[str, float, float]]:
    return [(r.label, r.x, r.n) for r in chart.points.itertuples()]


def test_each_chart_holds_only_months_that_can_be_judged(charts_store):
    charts = _charts(charts_store)
    assert list(charts) == ["median_wait_month", "continuation_day_4_month", "engagement_month"]
    assert _points(charts["continuation_day_4_month"]) == [("Jan 2024", 1, 2), ("Feb 2024", 0, 1), ("May 2024", 1, 1)]
    wait = charts["median_wait_month"]
    assert wait.kind == "xmr" and wait.value_kind == "days"
    assert [(r.label, r.value) for r in wait.points.itertuples()] == [("Jan 2024", 11.0), ("May 2024", 11.0)]
    assert _points(charts["engagement_month"]) == [("Jan 2024", 1, 2), ("Feb 2024", 0, 1)]
    # p-chart limits and signals come from the shared rules: centre = pooled proportion
    assert charts["continuation_day_4_month"].centre == pytest.approx(2 / 4)
    assert wait.centre == 11.0 and wait.points["lcl"].min() >= 0


def test_the_charts_follow_the_site_scope(charts_store):
    charts = _charts(charts_store, Scope(allowed_sites=("South",)))
    assert _points(charts["continuation_day_4_month"]) == [("Feb 2024", 0, 1), ("May 2024", 1, 1)]
    assert _points(charts["engagement_month"]) == [("Feb 2024", 0, 1)]


def test_small_points_are_hidden_when_the_charts_leave_the_room(charts_store):
    safe = suppression_of(intake.access_charts).apply(_charts(charts_store), threshold=11)
    for chart in safe.values():
        assert chart.points["suppressed"].all() and chart.points["value"].isna().all()
        assert chart.signals[-1].endswith("hidden by small-cell suppression (<11).")


def test_interventions_and_targets_are_drawn(charts_store):
    charts = _charts(charts_store)
    interventions = pd.DataFrame({"on_date": [pd.Timestamp("2024-02-01")], "title": ["<b>same-day intake</b>"]})
    fig = qi_figures.control_chart_figure(charts["median_wait_month"], interventions)
    names = [t.name for t in fig.data]
    assert "Intervention" in names and "Centre line" in names
    assert "<b>" not in fig.to_json()  # the title is escaped
    texts = [a.text for a in fig.layout.annotations]
    assert "target: at most 7 days" in texts  # config/iop.toml
    fig = qi_figures.control_chart_figure(charts["continuation_day_4_month"], None)
    assert "target: at least 80%" in [a.text for a in fig.layout.annotations]


def test_admission_rate_funnel_per_program_by_referral_column(store):
    add_enrollments(store, [("e1", "p1", "North", "Adult IOP", "2024-03-10", None, None)])
    rows = []
    for i in range(40):
        source = ("Self", "Court")[i % 2]
        outcome = "admitted" if i == 0 else ("declined", "no_show", "pending")[i % 3]
        rows.append((f"r{i}", f"q{i}", "North", "Adult IOP" if i < 30 else "Adolescent IOP", "2024-03-01",
                     None, outcome, "e1" if i == 0 else None, {"referral_source": source} if i != 5 else {}))
    add_referrals(store, rows)
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=AS_OF))
        plots = intake.admission_funnels(cur, "referral_source")
        counts = intake.admission_counts(cur, "referral_source")
    assert sorted(plots) == ["Adolescent IOP", "Adult IOP"]
    adult = counts[counts["program"] == "Adult IOP"].set_index("unit")
    # pending referrals are not decided: left out of the volume
    assert adult.loc["Self", "x"] == 1 and adult.loc["Self", "n"] == len(
        [i for i in range(30) if i % 2 == 0 and i != 0 and i % 3 != 2]) + 1
    assert "(not recorded)" in adult.index  # r5 has no referral source
    assert plots["Adult IOP"].title == "Admission rate by referral source — Adult IOP"
    with pytest.raises(ValueError):
        with store.read() as cur:
            bind_filters(cur, Filters(as_of=AS_OF))
            intake.admission_funnels(cur, "favourite_colour")

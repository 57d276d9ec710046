"""The Outcomes page's and the QI page's outcome figures on a hand-made store (embedded and DuckLake):
the Jacobson-Truax points and cells, the change categories, the weekly means and screens, the
measurement completion chart and the reliable improvement funnel. Every figure is worked below.

as_of 2024-03-31. PHQ-9 every 14 days, reliable change 6, caseness 10.
  e1 North Adult IOP       admit 01-01, discharged 02-26 (day 56)   PHQ-9 d0 20, d14 14, d28 8; uds d0 1, d3 0, d7 0
  e2 North Adult IOP       admit 01-01, active                       PHQ-9 d0 12, d14 12
  e3 South Adult IOP       admit 01-08, active                       PHQ-9 d0 6, d14 13
  e4 South Adolescent IOP  admit 01-08, active                       PHQ-9 d0 15 (no pair)
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from analytics.filters import Filters, Scope
from analytics.metrics import change, measures, score_weeks
from analytics.qi import funnel, spc
from analytics.store import bind_filters
from tests.conftest import add_enrollments

AS_OF = Filters(as_of=date(2024, 3, 31))


@pytest.fixture
def scored(store):
    add_enrollments(store, [
        ("e1", "p1", "North", "Adult IOP", "2024-01-01", "2024-02-26", "completed"),
        ("e2", "p2", "North", "Adult IOP", "2024-01-01", None, None),
        ("e3", "p3", "South", "Adult IOP", "2024-01-08", None, None),
        ("e4", "p4", "South", "Adolescent IOP", "2024-01-08", None, None),
    ])
    admits = {"e1": date(2024, 1, 1), "e2": date(2024, 1, 1), "e3": date(2024, 1, 8), "e4": date(2024, 1, 8)}
    rows = [("e1", 0, "phq9", 20), ("e1", 14, "phq9", 14), ("e1", 28, "phq9", 8), ("e2", 0, "phq9", 12),
            ("e2", 14, "phq9", 12), ("e3", 0, "phq9", 6), ("e3", 14, "phq9", 13), ("e4", 0, "phq9", 15),
            ("e1", 0, "uds", 1), ("e1", 3, "uds", 0), ("e1", 7, "uds", 0)]
    with store.write() as cur:
        cur.executemany("INSERT INTO store.assessments VALUES (?, ?, ?, ?, ?, 0, ?)", [
            (f"a{n}", e, admits[e] + timedelta(days=d), ins, score, n + 2) for n, (e, d, ins, score) in enumerate(rows)])
    return store


def run(store, fn, *args, filters=AS_OF, scope=Scope()):
    with store.read() as cur:
        bind_filters(cur, filters, scope)
        return fn(cur, *args)


def test_points_are_the_pairs_per_pair_of_scores(scored):
    points = run(scored, change.change_points, "phq9")
    assert points.to_dict("records") == [{"baseline": 6, "followup": 13, "episodes": 1},
                                         {"baseline": 12, "followup": 12, "episodes": 1},
                                         {"baseline": 20, "followup": 8, "episodes": 1}]


def test_the_grid_lists_every_cell(scored):
    grid = run(scored, change.change_grid, "phq9")
    assert len(grid) == 36  # 6 x 6 cells of 5 points: 0-4 ... 25-27
    assert grid.iloc[-1][["baseline_from", "baseline_to", "followup_from", "followup_to"]].tolist() == [25, 27, 25, 27]
    filled = grid[grid["episodes"] > 0].set_index(["baseline_from", "followup_from"])["episodes"].to_dict()
    # 6 -> 13: cell (5, 10); 12 -> 12: (10, 10); 20 -> 8: (20, 5)
    assert filled == {(5, 10): 1, (10, 10): 1, (20, 5): 1}
    assert grid["episodes"].sum() == 3


def test_change_categories_by_site(scored):
    table = run(scored, change.change_categories, "phq9", "site").set_index("site")
    north, south = table.loc["North"], table.loc["South"]
    # North: e1 20 -> 8 improved (12) and recovered; e2 12 -> 12 no reliable change, still at caseness
    assert (north["pairs"], north["reliably_improved"], north["no_reliable_change"],
            north["reliably_deteriorated"]) == (2, 1, 1, 0)
    assert (north["at_caseness"], north["recovered"], north["recovery_rate"]) == (2, 1, 0.5)
    assert north["reliably_improved_share"] == 0.5
    # South: e3 6 -> 13 deteriorated by 7; not at caseness, so no recovery rate
    assert (south["pairs"], south["reliably_deteriorated"], south["at_caseness"]) == (1, 1, 0)
    assert np.isnan(south["recovery_rate"])


def test_categories_of_an_instrument_without_thresholds_are_not_zero(scored):
    table = run(scored, change.change_categories, "uds", "program")
    assert table["pairs"].tolist() == [1]  # e1's screens from day 0 to day 7
    assert table[["reliably_improved", "at_caseness", "recovery_rate"]].isna().all().all()


def test_mean_score_by_week_with_its_interval(scored):
    weeks = run(scored, score_weeks.scores_by_week, "phq9").set_index("week")
    assert weeks.index.tolist() == [1, 3, 5]
    one = weeks.loc[1]  # 20, 12, 6, 15
    assert (one["n"], one["patients"], one["mean"]) == (4, 4, 13.25)
    assert one["sd"] == pytest.approx(np.sqrt(102.75 / 3))
    assert one["hi"] - one["mean"] == pytest.approx(1.96 * np.sqrt(102.75 / 3) / 2)
    assert (weeks.loc[3, "mean"], weeks.loc[3, "sd"]) == (13.0, 1.0)  # 14, 12, 13
    assert weeks.loc[5, "n"] == 1 and np.isnan(weeks.loc[5, "lo"])  # one score: no interval


def test_screen_positivity_by_week(scored):
    weeks = run(scored, score_weeks.positivity_by_week)
    assert weeks[["week", "screens", "positives", "share"]].to_dict("records") == [
        {"week": 1, "screens": 2, "positives": 1, "share": 0.5}, {"week": 2, "screens": 1, "positives": 0, "share": 0.0}]
    lo, hi = score_weeks.wilson_interval(np.array([0]), np.array([10]))
    assert (lo[0], round(float(hi[0]), 4)) == (0.0, 0.2775)
    with pytest.raises(ValueError, match="not a 0/1 screen"):
        run(scored, score_weeks.positivity_by_week, "phq9")


def test_measurement_completion_chart_by_the_month_windows_start(scored):
    chart = run(scored, spc.measurement_completion_chart, "phq9")
    points = chart.points.set_index("label")
    # Jan: e1 k0-2 (3 done), e2 k0-2 (2), e3 k0-1 (2), e4 k0-1 (1): 8 of 10
    # Feb: e1 k3-4, e2 k3-4, e3 k2-3, e4 k2-3: 0 of 8
    # Mar: e2 k5 (k6 from 25 Mar is still open at as_of: left out), e3 k4-5, e4 k4-5: 0 of 5
    assert points[["x", "n", "patients"]].to_dict("index") == {
        "Jan 2024": {"x": 8.0, "n": 10.0, "patients": 4}, "Feb 2024": {"x": 0.0, "n": 8.0, "patients": 4},
        "Mar 2024": {"x": 0.0, "n": 5.0, "patients": 3}}
    assert chart.metric == "measurement_completion_rate"
    # the headline rate counts the open window too: 8 of 24
    m = run(scored, measures.instrument_measures, "phq9")
    assert (m.completed_windows, m.due_windows) == (8, 24)


def test_reliable_improvement_funnel_by_site_within_programs(scored):
    plots = run(scored, funnel.reliable_improvement_funnels, "phq9")
    assert list(plots) == ["Adult IOP"]  # e4, the adolescent episode, has no pair
    units = plots["Adult IOP"].points.set_index("unit")[["x", "n"]].to_dict("index")
    assert units == {"North": {"x": 1.0, "n": 2.0}, "South": {"x": 0.0, "n": 1.0}}
    with pytest.raises(ValueError, match="no reliable change"):
        run(scored, funnel.reliable_improvement_funnels, "uds")


def test_site_scope_applies_to_every_outcome_figure(scored):
    south = Scope(allowed_sites=("South",), role="site_lead")
    assert run(scored, change.change_points, "phq9", scope=south)["baseline"].tolist() == [6]
    assert run(scored, change.change_grid, "phq9", scope=south)["episodes"].sum() == 1
    assert run(scored, change.change_categories, "phq9", "site", scope=south)["site"].tolist() == ["South"]
    assert run(scored, score_weeks.positivity_by_week, scope=south).empty
    assert run(scored, measures.instrument_measures, "phq9", scope=south).pairs == 1


def test_unknown_instrument_is_a_clear_error(scored):
    with pytest.raises(ValueError, match="unknown instrument 'nope'; known: phq9, gad7"):
        run(scored, change.change_grid, "nope")


def test_patient_level_points_are_refused_to_an_analyst(scored):
    from analytics.privacy.roles import PatientLevelDenied
    from ui.suppressed import for_scope

    analyst = Scope(suppressed_only=True, patient_level=False, role="analyst")
    points = run(scored, change.change_points, "phq9")
    with pytest.raises(PatientLevelDenied):
        for_scope(analyst, change.change_points, ("phq9",), {}, points)
    grid = for_scope(analyst, change.change_grid, ("phq9",), {}, run(scored, change.change_grid, "phq9"))
    assert pd.isna(grid.loc[grid["baseline_from"] == 20, "episodes"]).any()  # the cell of 1 is hidden

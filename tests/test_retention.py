"""Retention and time in program through the real store: hand-worked cases with an
as_of before the data's end, same-day discharge, censoring, breakdowns, the cohort
heatmap and empty selections."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from conftest import add_enrollments

from analytics.metrics import retention
from analytics.filters import Filters, Scope
from analytics.store import bind_filters
from analytics.metrics.survival import CENSORED, OTHER, UNPLANNED, fit_episodes

ROWS = [
    # episode, patient, site, program, admit, discharge, reason, planned, extra
    ("a", "p1", "North", "Adult IOP", "2024-01-01", "2024-01-01", "dropped_out", 8, {"payer": "Medicaid"}),
    ("b", "p2", "North", "Adult IOP", "2024-01-01", "2024-01-15", "completed", 8, {"payer": "Medicaid"}),
    ("c", "p3", "South", "Adult IOP", "2024-01-01", "2024-03-01", "dropped_out", 8, {"payer": "Commercial"}),
    ("d", "p4", "South", "Adult IOP", "2024-01-08", None, None, 8, {"payer": "Commercial"}),
    ("e", "p5", "South", "Teen IOP", "2024-02-15", None, None, 8, {}),
    ("f", "p6", "North", "Adult IOP", "2024-01-01", "2024-01-29", "terminated", 8, {"payer": "Medicaid"}),
]


def _curve(store, filters=Filters(), **kwargs):
    with store.read() as cur:
        bind_filters(cur, filters)
        return retention.retention_curve(cur, **kwargs)


def test_as_of_before_data_end_hand_worked(store):
    add_enrollments(store, ROWS)
    curve = _curve(store, Filters(as_of=date(2024, 2, 1))).set_index("week")
    # as_of 2024-02-01: e (admitted after) is left out; c's discharge (Mar 1) is not
    # known yet, so c is active, censored at day 31; d censored at Feb 1 - Jan 8 = 24.
    # times: a 0 unplanned (same day), b 14 other, d 24 censored, f 28 unplanned, c 31 censored
    # t=0:  n=5, 1 unplanned  -> S = 4/5, F1 = 1/5
    # t=14: n=4, 1 other      -> S = 3/5, F2 = 4/5 * 1/4 = 1/5
    # t=28: n=2, 1 unplanned  -> S = 3/10, F1 = 1/5 + 3/5 * 1/2 = 1/2
    assert curve.loc[[0, 1, 2, 3, 4], "retention"].tolist() == pytest.approx([0.8, 0.8, 0.8, 0.8, 0.5])
    assert curve.loc[[0, 1, 2, 3, 4], "in_program"].tolist() == pytest.approx([0.8, 0.8, 0.6, 0.6, 0.3])
    assert curve.loc[[0, 1, 2, 3, 4], "cif_other"].tolist() == pytest.approx([0, 0, 0.2, 0.2, 0.2])
    # at risk = time >= 7w: day 0: 5; day 7: b,c,d,f; 14: b,c,d,f; 21: c,d,f; 28: c,f; 35: none
    assert curve.loc[[0, 1, 2, 3, 4, 5], "n_at_risk"].tolist() == [5, 4, 4, 3, 2, 0]
    # nobody followed past day 31 while S = 0.3 > 0: not estimable from week 5 on
    assert curve.loc[5:, "retention"].isna().all() and not curve.loc[5:, "estimable"].any()
    # fewer than 10 at risk from week 0: the page shows nothing of this curve
    assert curve["low_risk"].all() and not curve["shown"].any()
    assert (curve.loc[:4, "retention_lo"] <= curve.loc[:4, "retention"]).all()
    assert (curve.loc[:4, "retention"] <= curve.loc[:4, "retention_hi"]).all()


def test_default_as_of_and_sql_times_match_python_times(store):
    add_enrollments(store, ROWS)
    # default as_of = latest date in the store = 2024-03-01 (c's discharge)
    times = {"a": (0, UNPLANNED), "b": (14, OTHER), "c": (60, UNPLANNED),
             "d": (53, CENSORED), "e": (15, CENSORED), "f": (28, UNPLANNED)}
    expected = fit_episodes([t for t, _ in times.values()], [e for _, e in times.values()]).at(
        [7 * w for w in range(13)])
    with store.read() as cur:
        assert bind_filters(cur, Filters()) == date(2024, 3, 1)
        curve = retention.retention_curve(cur)
        steps = retention.survival_steps(cur)
    assert curve["retention"].to_numpy() == pytest.approx(1 - expected["cif_unplanned"].to_numpy(), nan_ok=True)
    assert curve["in_program"].to_numpy() == pytest.approx(expected["km"].to_numpy(), nan_ok=True)
    assert steps["time"].tolist() == [0, 14, 15, 28, 53, 60]
    assert (steps["retention"] + steps["cif_unplanned"]).to_numpy() == pytest.approx(1.0)


def test_breakdown_groups_equal_filtered_curves(store):
    add_enrollments(store, ROWS)
    by_site = _curve(store, by="site")
    assert sorted(by_site["site"].unique()) == ["North", "South"]
    for site in ("North", "South"):
        alone = _curve(store, Filters(sites=(site,)))
        part = by_site[by_site["site"] == site].reset_index(drop=True)
        for col in ("retention", "in_program", "n_at_risk", "retention_lo", "retention_hi"):
            assert part[col].to_numpy() == pytest.approx(alone[col].to_numpy(), nan_ok=True)
    # North: a 0 unplanned (n=3: F1 = 1/3, S = 2/3), b 14 other (n=2: S = 1/3),
    # f 28 unplanned (n=1: F1 = 1/3 + 1/3 * 1 = 2/3) -> retention 2/3 until day 28, then 1/3
    north = by_site[by_site["site"] == "North"].set_index("week")
    assert north.loc[[0, 3, 4], "retention"].tolist() == pytest.approx([2 / 3, 2 / 3, 1 / 3])
    # an extra enrollment column: e has no payer, so its group is None
    by_payer = _curve(store, by="payer")
    groups = by_payer.drop_duplicates("payer")["payer"].tolist()
    assert set(g for g in groups if g is not None) == {"Commercial", "Medicaid"}
    assert any(g is None for g in groups)
    medicaid = by_payer[by_payer["payer"] == "Medicaid"].set_index("week")
    assert medicaid.loc[0, "n_at_risk"] == 3


def test_site_scope_applies_to_breakdowns(store):
    add_enrollments(store, ROWS)
    with store.read() as cur:
        bind_filters(cur, Filters(), Scope(allowed_sites=("North",)))
        curve = retention.retention_curve(cur, by="site")
    assert curve["site"].unique().tolist() == ["North"]


def test_empty_selection_gives_nan_or_empty_not_errors(store):
    add_enrollments(store, ROWS)
    with store.read() as cur:
        bind_filters(cur, Filters(sites=("Nowhere",)))
        curve = retention.retention_curve(cur)
        by_site = retention.retention_curve(cur, by="site")
        ret, in_prog = retention.headline(cur)
        heat = retention.cohort_retention(cur)
        steps = retention.survival_steps(cur)
    assert len(curve) == 13 and curve["retention"].isna().all() and (curve["n_at_risk"] == 0).all()
    assert by_site.empty and "site" in by_site.columns
    assert ret == {"week_4": None, "week_8": None, "week_12": None} and in_prog == ret
    assert heat.empty and steps.empty


def test_empty_store(store):
    with store.read() as cur:
        assert bind_filters(cur, Filters()) is None
        assert retention.headline(cur)[0]["week_4"] is None


def test_cohort_heatmap_censors_active_episodes(store):
    rows = [
        # January cohort: 4 episodes, all followed past 12 weeks or discharged
        ("j1", "p1", "N", "Adult IOP", "2024-01-02", "2024-01-10", "dropped_out"),   # day 8 U
        ("j2", "p2", "N", "Adult IOP", "2024-01-03", "2024-02-14", "completed"),     # day 42 O
        ("j3", "p3", "N", "Adult IOP", "2024-01-04", "2024-02-29", "terminated"),    # day 56 U
        ("j4", "p4", "N", "Adult IOP", "2024-01-05", None, None),                    # active
        # March cohort: admitted shortly before as_of, so only early weeks are known
        ("m1", "p5", "N", "Adult IOP", "2024-03-01", "2024-03-05", "dropped_out"),   # day 4 U
        ("m2", "p6", "N", "Adult IOP", "2024-03-01", None, None),                    # active, 30 days
    ]
    add_enrollments(store, rows)
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=date(2024, 3, 31)))
        heat = retention.cohort_retention(cur).set_index(["cohort", "week"])
    # January: t=8 n=4 U -> F1=1/4; t=42 n=3 O -> S=3/4*2/3=1/2; t=56 n=2 U -> F1 = 1/4 + 1/2*1/2 = 1/2
    jan = heat.loc["2024-01"]
    assert jan.loc[[1, 2, 6, 8, 12], "retention"].tolist() == pytest.approx([1.0, 0.75, 0.75, 0.5, 0.5])
    assert (jan["n"] == 4).all() and jan.loc[2, "n_at_risk"] == 3
    # March: t=4 U of 2 -> retention 1/2; m2 followed 30 days: weeks 1-4 known, 5+ unknown
    mar = heat.loc["2024-03"]
    assert mar.loc[[1, 4], "retention"].tolist() == pytest.approx([0.5, 0.5])
    assert mar.loc[5:, "retention"].isna().all()
    assert sorted(heat.index.get_level_values("cohort").unique()) == ["2024-01", "2024-03"]


def test_shown_stops_where_fewer_than_ten_at_risk(store):
    # 12 episodes admitted together; one leaves (completed) each week from week 1 on
    rows = []
    for i in range(12):
        discharge = np.datetime64("2024-01-01") + np.timedelta64(7 * (i + 1) - 3, "D")
        rows.append((f"e{i}", f"p{i}", "N", "Adult IOP", "2024-01-01", str(discharge), "completed"))
    add_enrollments(store, rows)
    curve = _curve(store).set_index("week")
    # at day 7w, episodes with time >= 7w: those discharged at 7(i+1)-3 >= 7w, i.e. i >= w
    assert curve.loc[[0, 1, 2, 3], "n_at_risk"].tolist() == [12, 11, 10, 9]
    assert curve.loc[[0, 1, 2], "shown"].all() and not curve.loc[3:, "shown"].any()
    assert curve["retention"].dropna().eq(1.0).all()  # no unplanned discharge at all

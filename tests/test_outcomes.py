"""Outcomes through the real store, against hand-worked figures."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from conftest import add_enrollments

from analytics.metrics import discharges as outcomes
from analytics.filters import Filters, Scope
from analytics.store import bind_filters


def _run(store, fn, filters=Filters(), scope=Scope(), *args):
    with store.read() as cur:
        bind_filters(cur, filters, scope)
        return fn(cur, *args)


def test_completion_rate_and_median_los_even_count(store):
    add_enrollments(store, [
        ("a", "p1", "N", "Adult IOP", "2024-01-01", "2024-01-01", "dropped_out"),   # LOS 0 (same day)
        ("b", "p2", "N", "Adult IOP", "2024-01-01", "2024-01-11", "completed"),     # 10
        ("c", "p3", "N", "Adult IOP", "2024-01-01", "2024-01-21", "transferred"),   # 20
        ("d", "p4", "N", "Adult IOP", "2024-01-01", "2024-02-20", "completed"),     # 50
        ("e", "p5", "N", "Adult IOP", "2024-01-05", None, None),                    # active
        ("f", "p6", "N", "Adult IOP", "2024-01-05", "2024-03-01", "completed"),     # after as_of below
    ])
    s = _run(store, outcomes.outcome_summary, Filters(as_of=date(2024, 2, 25)))
    # discharged by Feb 25: a, b, c, d (f's discharge is after as_of, so f is active)
    assert (s.episodes, s.active_episodes, s.discharged, s.completed, s.unplanned) == (6, 2, 4, 2, 1)
    assert s.completion_rate == pytest.approx(2 / 4)
    assert s.median_los_days == pytest.approx(15.0)  # (10 + 20) / 2, the mean of the middle two
    # default as_of (Mar 1): f counts, LOS 56 -> values 0 10 20 50 56: median 20 (odd count)
    s = _run(store, outcomes.outcome_summary)
    assert s.discharged == 5 and s.completion_rate == pytest.approx(3 / 5)
    assert s.median_los_days == pytest.approx(20.0)
    assert outcomes.OutcomeSummary.__dataclass_params__.frozen


READMIT_ROWS = [
    ("e1", "p1", "North", "Adult IOP", "2024-01-15", "2024-03-01", "completed"),
    ("e2", "p1", "North", "Adult IOP", "2024-03-31", "2024-04-20", "dropped_out"),  # e1 + 30 days
    ("e3", "p2", "North", "Adult IOP", "2024-01-15", "2024-03-01", "dropped_out"),
    ("e4", "p2", "North", "Adult IOP", "2024-04-01", "2024-04-10", "completed"),    # e3 + 31 days
    ("e5", "p3", "North", "Adult IOP", "2024-05-01", "2024-06-15", "completed"),    # too recent
    ("e6", "p4", "North", "Adult IOP", "2024-04-01", "2024-05-01", "completed"),    # never back
    ("e7", "p5", "South", "Adult IOP", "2024-01-01", "2024-01-10", "dropped_out"),
    ("e8", "p5", "North", "Adult IOP", "2024-01-20", "2024-02-20", "completed"),    # e7 + 10, other site
]


def test_readmission_windows_eligibility_and_boundaries(store):
    add_enrollments(store, READMIT_ROWS)
    as_of = Filters(as_of=date(2024, 6, 30))
    r = _run(store, outcomes.readmission_rates, as_of)
    # 30 days: discharged by May 31: e1 e2 e3 e4 e6 e7 e8 (7); back within 30: e1 (day 30
    # exactly), e7 (day 10); e3 came back on day 31
    assert (r[30].eligible, r[30].readmitted) == (7, 2)
    assert r[30].rate == pytest.approx(2 / 7)
    # 90 days: discharged by Apr 1: e1 e3 e7 e8 (4); back within 90: e1, e3, e7
    assert (r[90].eligible, r[90].readmitted) == (4, 3)
    assert r[90].rate == pytest.approx(3 / 4)


def test_readmission_to_another_site_counts_but_not_outside_scope(store):
    add_enrollments(store, READMIT_ROWS)
    south = Filters(as_of=date(2024, 6, 30), sites=("South",))
    r = _run(store, outcomes.readmission, south, Scope(), 30)
    assert (r.eligible, r.readmitted) == (1, 1)  # e7, back at North (e8)
    r = _run(store, outcomes.readmission, south, Scope(allowed_sites=("South",)), 30)
    assert (r.eligible, r.readmitted) == (1, 0)  # North is outside this viewer's scope


def test_readmission_not_known_before_as_of(store):
    add_enrollments(store, READMIT_ROWS)
    # as_of Apr 5: e1 (discharged Mar 1) is eligible for 30 days (Mar 1 <= Mar 6) and e2
    # (Mar 31) is known; e3's return (Apr 1) is known but 31 days on
    r = _run(store, outcomes.readmission, Filters(as_of=date(2024, 4, 5)), Scope(), 30)
    # eligible: discharged by Mar 6: e1, e3, e7, e8 -> back within 30: e1, e7
    assert (r.eligible, r.readmitted) == (4, 2)
    # as_of Mar 30: e2 (Mar 31) is not admitted yet, and e1 is not yet eligible anyway
    r = _run(store, outcomes.readmission, Filters(as_of=date(2024, 3, 30)), Scope(), 30)
    assert (r.eligible, r.readmitted) == (2, 1)  # e7 (back) and e8 (not)


def test_discharge_reasons_by_month_counts_and_shares(store):
    add_enrollments(store, READMIT_ROWS)
    df = _run(store, outcomes.discharge_reasons_by_month, Filters(as_of=date(2024, 6, 30)))
    got = {(m, r): (n, s) for m, r, n, s in df.itertuples(index=False)}
    assert got == {
        ("2024-01", "dropped_out"): (1, 1.0),
        ("2024-02", "completed"): (1, 1.0),
        ("2024-03", "completed"): (1, 0.5),
        ("2024-03", "dropped_out"): (1, 0.5),
        ("2024-04", "completed"): (1, 0.5),
        ("2024-04", "dropped_out"): (1, 0.5),
        ("2024-05", "completed"): (1, 1.0),
        ("2024-06", "completed"): (1, 1.0),
    }


def test_los_by_reason_box_statistics(store):
    # completed LOS: 10, 20, 30, 40, 200 (an outlier); dropped_out: 3
    rows = [(f"c{i}", f"p{i}", "N", "Adult IOP", "2024-01-01",
             str(np.datetime64("2024-01-01") + np.timedelta64(d, "D")), "completed")
            for i, d in enumerate([10, 20, 30, 40, 200])]
    rows.append(("d1", "px", "N", "Adult IOP", "2024-01-01", "2024-01-04", "dropped_out"))
    add_enrollments(store, rows)
    df = _run(store, outcomes.los_by_reason).set_index("discharge_reason")
    c = df.loc["completed"]
    values = np.array([10, 20, 30, 40, 200])
    q1, med, q3 = np.percentile(values, [25, 50, 75])  # linear interpolation = quantile_cont
    assert (c["n"], c["min"], c["max"]) == (5, 10, 200)
    assert (c["q1"], c["median"], c["q3"]) == pytest.approx((q1, med, q3))  # 20, 30, 40
    assert c["mean"] == pytest.approx(60.0)
    # whiskers: within [20 - 30, 40 + 30] = [-10, 70] -> 10 and 40; 200 is an outlier
    assert (c["lower_whisker"], c["upper_whisker"]) == (10, 40)
    assert df.loc["dropped_out", "median"] == 3


def test_period_counts_and_previous_window(store):
    add_enrollments(store, [
        ("a", "p1", "N", "Adult IOP", "2024-02-05", "2024-02-20", "completed"),
        ("b", "p2", "N", "Adult IOP", "2024-02-25", "2024-03-10", "completed"),
        ("c", "p3", "N", "Adult IOP", "2024-03-01", None, None),
        ("d", "p4", "N", "Adult IOP", "2024-03-31", "2024-03-31", "dropped_out"),
        ("e", "p5", "N", "Adult IOP", "2024-01-15", "2024-03-31", "completed"),
    ])
    pc = _run(store, outcomes.period_counts, Filters(), Scope(), date(2024, 3, 1), date(2024, 3, 31))
    # previous window of 31 days: Jan 30 .. Feb 29
    assert (pc.previous_start, pc.previous_end) == (date(2024, 1, 30), date(2024, 2, 29))
    assert (pc.admissions, pc.discharges) == (2, 3)                    # c, d / b, d, e
    assert (pc.previous_admissions, pc.previous_discharges) == (2, 1)  # a, b / a
    # active at the end of Mar 31: c only (d and e were discharged that day)
    assert pc.active_at_end == 1
    # active at the end of Feb 29: b, e
    assert pc.active_at_previous_end == 2
    with pytest.raises(ValueError):
        _run(store, outcomes.period_counts, Filters(), Scope(), date(2024, 3, 2), date(2024, 3, 1))


def test_census_respects_as_of(store):
    add_enrollments(store, [
        ("a", "p1", "N", "Adult IOP", "2024-01-01", "2024-03-01", "completed"),
        ("b", "p2", "N", "Adult IOP", "2024-01-01", None, None),
        ("c", "p3", "N", "Adult IOP", "2024-02-15", None, None),
    ])
    assert _run(store, outcomes.census) == 2                                  # as_of Mar 1
    assert _run(store, outcomes.census, Filters(as_of=date(2024, 2, 1))) == 2  # a active, c not yet
    assert _run(store, outcomes.census, Filters(as_of=date(2024, 2, 20))) == 3


def test_empty_selection_gives_nulls(store):
    add_enrollments(store, READMIT_ROWS)
    nothing = Filters(programs=("No such program",))
    s = _run(store, outcomes.outcome_summary, nothing)
    assert (s.episodes, s.completion_rate, s.median_los_days) == (0, None, None)
    r = _run(store, outcomes.readmission_rates, nothing)
    assert r[30].rate is None and r[90].rate is None
    assert _run(store, outcomes.discharge_reasons_by_month, nothing).empty
    assert _run(store, outcomes.los_by_reason, nothing).empty
    pc = _run(store, outcomes.period_counts, nothing, Scope(), date(2024, 1, 1), date(2024, 1, 31))
    assert pc.admissions == 0 and pc.previous_discharges == 0

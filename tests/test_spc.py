"""SPC limits and rules against a published worked example and hand-computed cases."""
from __future__ import annotations

import dataclasses
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from analytics.qi import spc

# Montgomery, D.C., Introduction to Statistical Quality Control (orange juice concentrate
# cans; Example 6.1 / Table 6.1 in the 5th-6th editions, Table 7.1 in the 8th): 30 samples
# of n = 50 cans, nonconforming counts below, sum 347. Published trial limits:
# p̄ = 0.2313, UCL = 0.4102, LCL = 0.0524, and samples 15 and 23 plot above the UCL.
# The same data and limits are the p-chart example of the NIST/SEMATECH e-Handbook of
# Statistical Methods, section 6.3.3.2, and R's qcc::orangejuice (trial samples).
ORANGE_JUICE = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
                8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]


def _counts(x, n, periods=None):
    periods = periods if periods is not None else list(range(1, len(x) + 1))
    return pd.DataFrame({"period": periods, "x": x, "n": n})


def test_p_chart_matches_montgomery_orange_juice():
    assert sum(ORANGE_JUICE) == 347
    chart = spc.p_chart(_counts(ORANGE_JUICE, [50] * 30), label=spc.plain_label)
    assert chart.centre == pytest.approx(0.2313, abs=5e-5)
    assert chart.points["ucl"].iloc[0] == pytest.approx(0.4102, abs=5e-5)
    assert chart.points["lcl"].iloc[0] == pytest.approx(0.0524, abs=5e-5)
    beyond = chart.points.loc[chart.points["beyond"], "period"].tolist()
    assert beyond == [15, 23]
    assert chart.signals[:2] == (
        "15: 44.0% is above the upper limit 41.0%",
        "23: 48.0% is above the upper limit 41.0%",
    )
    # No 8-point run on one side in this data set.
    assert not chart.points["shift"].any()


def test_p_chart_limits_vary_with_n_and_clip_at_zero():
    # p̄ = 15/150 = 0.1. n=50: σ = sqrt(0.09/50) = 0.0424264, UCL = 0.1 + 0.1272792,
    # LCL = 0.1 - 0.1272792 < 0 -> 0. n=100: σ = 0.03, limits 0.01 and 0.19.
    chart = spc.p_chart(_counts([5, 10], [50, 100]), label=spc.plain_label)
    pts = chart.points
    assert chart.centre == pytest.approx(0.1)
    assert pts["ucl"].tolist() == pytest.approx([0.2272792, 0.19], abs=1e-7)
    assert pts["lcl"].tolist() == pytest.approx([0.0, 0.01], abs=1e-7)


def test_p_chart_drops_periods_without_opportunities():
    chart = spc.p_chart(_counts([1, 0, 2], [10, 0, 10]), label=spc.plain_label)
    assert chart.points["period"].tolist() == [1, 3]


def test_p_chart_baseline_sets_the_centre():
    # Baseline = periods 1..2: p̄ = (10+20)/(100+100) = 0.15; period 3 (0.5) is judged
    # against it: σ = sqrt(0.15*0.85/100) = 0.0357071, UCL = 0.2571214 -> signal.
    counts = _counts([10, 20, 50], [100, 100, 100],
                     periods=[date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)])
    chart = spc.p_chart(counts, baseline_end=date(2026, 2, 1))
    assert chart.centre == pytest.approx(0.15)
    assert chart.points["ucl"].iloc[2] == pytest.approx(0.2571214, abs=1e-7)
    assert chart.points["in_baseline"].tolist() == [True, True, False]
    assert chart.signals == ("Mar 2026: 50.0% is above the upper limit 25.7%",)


def test_laney_limits_hand_computed():
    # x = 10, 30, 20, 40 of n = 100: p̄ = 0.25, σ_p = sqrt(0.25*0.75/100) = √3/40.
    # z = (-0.15, 0.05, -0.05, 0.15)/σ_p = (-2√3, 2/√3, -2/√3, 2√3).
    # moving ranges 8/√3, 4/√3, 8/√3 -> mean 20/(3√3) = 3.849002; σ_z = 3.849002/1.128 = 3.412236.
    # 3·σ_p·σ_z = 3 · (√3/40) · 20/(3√3·1.128) = 0.5/1.128 = 0.4432624.
    chart = spc.p_chart(_counts([10, 30, 20, 40], [100] * 4), laney=True, label=spc.plain_label)
    assert chart.kind == "p'"
    assert chart.sigma_z == pytest.approx(3.412236, abs=1e-6)
    assert chart.points["ucl"].iloc[0] == pytest.approx(0.25 + 0.5 / 1.128, abs=1e-9)
    assert chart.points["lcl"].iloc[0] == 0.0  # 0.25 - 0.443 clipped
    # The plain p-chart (limits 0.25 ± 0.1299) flags 0.1 and 0.4; Laney flags none.
    plain = spc.p_chart(_counts([10, 30, 20, 40], [100] * 4), label=spc.plain_label)
    assert plain.points["beyond"].sum() == 2  # 0.1 < 0.1201 and 0.4 > 0.3799
    assert not chart.points["beyond"].any()


def test_laney_sigma_z_uses_baseline_only():
    counts = _counts([10, 30, 20, 40, 90], [100] * 5)
    chart = spc.p_chart(counts, laney=True, baseline_end=4, label=spc.plain_label)
    assert chart.sigma_z == pytest.approx(3.412236, abs=1e-6)
    assert chart.points["beyond"].tolist() == [False, False, False, False, True]


def test_xmr_hand_computed():
    # mean 9; moving ranges 2, 1, 2, 4 -> MR̄ = 2.25; limits 9 ± 2.66·2.25 = 9 ± 5.985.
    frame = pd.DataFrame({"period": [1, 2, 3, 4, 5], "value": [8, 10, 9, 11, 7]})
    chart = spc.xmr_chart(frame, label=spc.plain_label)
    assert chart.centre == pytest.approx(9.0)
    assert chart.points["ucl"].iloc[0] == pytest.approx(14.985)
    assert chart.points["lcl"].iloc[0] == pytest.approx(3.015)
    assert chart.signals == ()


def test_xmr_lower_limit_floored_at_zero_and_point_below_signals():
    # baseline 1..4: mean 2.5, MR̄ = (3+3+3)/3 = 3 -> limits 2.5 ± 7.98 -> LCL floored at 0.
    frame = pd.DataFrame({"period": [1, 2, 3, 4, 5], "value": [1, 4, 1, 4, 11]})
    chart = spc.xmr_chart(frame, baseline_end=4, label=spc.plain_label)
    assert chart.points["lcl"].iloc[0] == 0.0
    assert chart.points["ucl"].iloc[0] == pytest.approx(10.48)
    assert chart.signals == ("5: 11.0 h is above the upper limit 10.5 h",)


def test_shift_of_eight_flags_the_run_and_says_so():
    # Baseline mean over the first 10 points is 10; then 8 points at 11 (above).
    values = [9, 11] * 5 + [11] * 8
    frame = pd.DataFrame({"period": list(range(1, 19)), "value": values})
    chart = spc.xmr_chart(frame, baseline_end=10, label=spc.plain_label)
    # Point 10 (11) starts the run: 10, 11..18 are 9 points above 10.
    assert chart.points["shift"].tolist() == [False] * 9 + [True] * 9
    assert chart.signals == ("10 to 18: 9 points in a row above the centre line 10.0 h (shift)",)


def test_seven_points_are_not_a_shift():
    assert not spc.shift_flags([1] * 7, 0).any()
    assert spc.shift_flags([1] * 8, 0).all()
    assert spc.shift_flags([-1] * 8, 0).all()


def test_points_on_the_centre_line_neither_count_nor_break_a_run():
    # 4 above, 1 on the line, 4 above: 8 counted points, one run; the point on the line isn't flagged.
    flags = spc.shift_flags([1, 1, 1, 1, 0, 1, 1, 1, 1], 0)
    assert flags.tolist() == [True] * 4 + [False] + [True] * 4
    assert spc.shift_runs([1, 1, 1, 1, 0, 1, 1, 1], 0) == []  # only 7 counted
    # a point on the other side breaks it
    assert not spc.shift_flags([1, 1, 1, 1, -1, 1, 1, 1, 1], 0).any()


def test_monthly_labels_in_signals():
    periods = [pd.Timestamp(2026, m, 1) for m in range(1, 4)]
    counts = _counts([80, 80, 40], [100, 100, 100], periods=periods)
    chart = spc.p_chart(counts, baseline_end=date(2026, 2, 1))
    # p̄ = 0.8, σ = 0.04, LCL = 0.68
    assert chart.signals == ("Mar 2026: 40.0% is below the lower limit 68.0%",)


def test_chart_is_frozen_and_empty_input_gives_no_signals():
    chart = spc.p_chart(_counts([], []))
    assert chart.empty and chart.signals == () and chart.centre is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        chart.title = "x"  # type: ignore[misc]


def test_independent_recomputation_on_random_data():
    # A second implementation in plain Python, point by point.
    rng = np.random.default_rng(7)
    n = rng.integers(20, 400, size=24)
    x = rng.binomial(n, 0.3)
    chart = spc.p_chart(_counts(x.tolist(), n.tolist()), label=spc.plain_label)
    pbar = sum(x) / sum(n)
    for i, row in chart.points.iterrows():
        s = math.sqrt(pbar * (1 - pbar) / n[i])
        assert row["ucl"] == pytest.approx(min(1.0, pbar + 3 * s))
        assert row["lcl"] == pytest.approx(max(0.0, pbar - 3 * s))
        assert row["beyond"] == (x[i] / n[i] > pbar + 3 * s or x[i] / n[i] < pbar - 3 * s)


# -- from the store: hand-made data in tests/qi_fixture.py ----------------------
from analytics.filters import Filters  # noqa: E402
from analytics.store import bind_filters  # noqa: E402
from tests import qi_fixture  # noqa: E402


@pytest.fixture
def qi_store(store):
    qi_fixture.fill(store)
    return store


def _cur_charts(store, fn, *args, as_of=qi_fixture.AS_OF, **kwargs):
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=as_of))
        return fn(cur, *args, **kwargs)


def test_monthly_session_counts_complete_months_only(qi_store):
    counts = _cur_charts(qi_store, spc.session_counts, "month")
    # March is still running on 2026-03-20, so it is left out.
    assert [p.date() for p in pd.to_datetime(counts["period"])] == [date(2026, 1, 1), date(2026, 2, 1)]
    # Jan: s1..s4, s7 -> expected 5, attended 4, no_show 1; Feb: s6, s8 (s5 is program_cancelled).
    assert counts[["expected", "attended", "no_show", "patient_cancelled"]].values.tolist() == [[5, 4, 1, 0], [2, 0, 1, 1]]
    chart = _cur_charts(qi_store, spc.session_chart, "attendance_rate", "month")
    assert chart.points["value"].tolist() == pytest.approx([0.8, 0.0])
    assert chart.centre == pytest.approx(4 / 7)
    assert chart.metric == "attendance_rate"
    assert chart.points["patients"].tolist() == [3, 2]


def test_weekly_session_counts(qi_store):
    counts = _cur_charts(qi_store, spc.session_counts, "week")
    weeks = [p.date() for p in pd.to_datetime(counts["period"])]
    # ISO weeks from Monday; the week of 16 Mar ends 22 Mar, after as_of.
    assert weeks == [date(2026, 1, 5), date(2026, 1, 12), date(2026, 2, 2), date(2026, 2, 9)]
    assert counts["expected"].tolist() == [4, 1, 1, 1]
    assert counts["attended"].tolist() == [3, 1, 0, 0]


def test_session_counts_add_up_to_the_headline_rates(qi_store):
    from analytics.metrics.sessions import session_rates

    as_of = date(2026, 2, 28)  # every month complete
    counts = _cur_charts(qi_store, spc.session_counts, "month", as_of=as_of)
    headline = _cur_charts(qi_store, session_rates, as_of=as_of)
    assert counts["expected"].sum() == headline.expected
    assert counts["attended"].sum() == headline.attended
    assert counts["no_show"].sum() == headline.no_show


def test_completion_by_discharge_month(qi_store):
    counts = _cur_charts(qi_store, spc.completion_counts)
    # e1 dropped out in January; e2 completed in March, which is not complete yet.
    assert counts[["completed", "discharged"]].values.tolist() == [[0, 1]]
    later = _cur_charts(qi_store, spc.completion_counts, as_of=date(2026, 4, 1))
    assert later[["completed", "discharged"]].values.tolist() == [[0, 1], [1, 1]]


def test_retention_week4_cohorts(qi_store):
    counts = _cur_charts(qi_store, spc.retention_week4_counts)
    # Only January: February ends 28 Feb, after as_of - 28 = 20 Feb.
    # Jan cohort e1 (dropped out day 15), e2, e3 (active: no unplanned discharge) -> 2 of 3.
    assert [p.date() for p in pd.to_datetime(counts["period"])] == [date(2026, 1, 1)]
    assert counts[["retained", "admitted"]].values.tolist() == [[2, 3]]


def test_median_hours_uses_dose_episode_weeks(qi_store):
    counts = _cur_charts(qi_store, spc.median_hours_by_month)
    jan = counts.iloc[0]
    # Weeks ending in January: e1 w1 180 min, w2 0; e2 w1 120, w2 0, w3 0; e3 w1 170, w2 0, w3 0.
    assert int(jan["episode_weeks"]) == 8
    assert jan["median_weekly_hours"] == 0.0
    chart = _cur_charts(qi_store, spc.median_hours_chart)
    assert chart.kind == "xmr" and chart.metric == "median_weekly_hours"


def test_standard_charts_all_present(qi_store):
    charts = _cur_charts(qi_store, spc.standard_charts, laney=True)
    assert list(charts) == ["attendance_month", "no_show_month", "attendance_week", "no_show_week",
                            "completion_month", "retention_week_4_month", "median_hours_month"]
    assert charts["attendance_week"].kind == "p'"
    assert charts["completion_month"].kind == "p"


def test_week4_proportion_equals_the_aalen_johansen_retention(qi_store):
    # For cohorts all followed >= 28 days, 1 - CIF_unplanned(28) is a plain proportion.
    from analytics.metrics import retention

    filters = Filters(as_of=qi_fixture.AS_OF, admitted_to=date(2026, 1, 31))
    with qi_store.read() as cur:
        bind_filters(cur, filters)
        counts = spc.retention_week4_counts(cur)
        ret, _ = retention.headline(cur, (4,))
    assert counts["retained"].sum() / counts["admitted"].sum() == pytest.approx(ret["week_4"])

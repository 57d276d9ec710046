"""Kaplan-Meier and Aalen-Johansen against a published example, hand-worked cases,
an independent slow implementation, and properties (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics.survival import CENSORED, OTHER, UNPLANNED, fit_counts, fit_episodes

# Freireich et al. (1963), 6-MP arm: weeks in remission, '+' censored:
# 6 6 6 6+ 7 9+ 10 10+ 11+ 13 16 17+ 19+ 20+ 22 23 25+ 32+ 32+ 34+ 35+
FREIREICH_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
FREIREICH_EVENTS = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
# Published Kaplan-Meier table for this arm (e.g. Klein & Moeschberger, "Survival
# Analysis", Table 4.1A; R: survfit(Surv(time, status) ~ 1, conf.type = "log-log")):
# time, n at risk, S(t), Greenwood SE, 95% log-log lower, upper
FREIREICH_TABLE = [
    (6, 21, 0.857, 0.0764, 0.620, 0.952),
    (7, 17, 0.807, 0.0869, 0.563, 0.923),
    (10, 15, 0.753, 0.0963, 0.503, 0.889),
    (13, 12, 0.690, 0.1068, 0.432, 0.849),
    (16, 11, 0.627, 0.1141, 0.368, 0.805),
    (22, 7, 0.538, 0.1282, 0.268, 0.747),
    (23, 6, 0.448, 0.1346, 0.188, 0.680),
]


def test_kaplan_meier_matches_published_freireich_table():
    fit = fit_episodes(FREIREICH_TIMES, [UNPLANNED if e else CENSORED for e in FREIREICH_EVENTS])
    steps = fit.steps.set_index("time")
    for t, n, km, se, lo, hi in FREIREICH_TABLE:
        row = steps.loc[t]
        assert row["n_at_risk"] == n
        assert row["km"] == pytest.approx(km, abs=5e-4)
        assert row["km_se"] == pytest.approx(se, abs=5e-5)
        assert row["km_lo"] == pytest.approx(lo, abs=5e-4)
        assert row["km_hi"] == pytest.approx(hi, abs=5e-4)
    # exact products by hand: 18/21, *16/17, *14/15, *11/12, *10/11, *6/7, *5/6
    exact = np.cumprod([18 / 21, 16 / 17, 14 / 15, 11 / 12, 10 / 11, 6 / 7, 5 / 6])
    assert steps.loc[[6, 7, 10, 13, 16, 22, 23], "km"].to_numpy() == pytest.approx(exact, rel=1e-12)
    # with one cause, the CIF is 1 - KM and its delta-method SE is Greenwood's
    # (published SEs above): SE(t=6) = sqrt(0.857^2 * 3/(21*18)) = 0.0764
    for t, _, km, se, _, _ in FREIREICH_TABLE:
        assert steps.loc[t, "cif_unplanned_se"] == pytest.approx(se, abs=5e-5)
        assert steps.loc[t, "cif_unplanned"] == pytest.approx(1 - steps.loc[t, "km"], abs=1e-12)
    # beyond the last time (35, censored) nobody is at risk and S > 0: not estimable
    at = fit.at([35, 36])
    assert at["n_at_risk"].tolist() == [1, 0]
    assert at["estimable"].tolist() == [True, False]


def test_hand_worked_competing_risks_with_ties_and_same_day_discharge():
    # (time, event): a same-day dropout, a tie of a discharge and a censoring at
    # day 2, a tie of two different discharges at day 5, one active to day 7.
    data = [(0, UNPLANNED), (2, OTHER), (2, CENSORED), (5, UNPLANNED), (5, OTHER), (7, CENSORED)]
    fit = fit_episodes([t for t, _ in data], [e for _, e in data])
    s = fit.steps.set_index("time")
    # t=0: n=6, one unplanned            S = 5/6,            F1 = 1/6
    # t=2: n=5 (the censored one still at risk: events before censoring), one other
    #                                    S = 5/6 * 4/5 = 2/3, F2 = 5/6 * 1/5 = 1/6
    # t=5: n=3, one of each              S = 2/3 * 1/3 = 2/9, F1 = 1/6 + 2/3 * 1/3 = 7/18
    #                                                         F2 = 1/6 + 2/9 = 7/18
    assert s["n_at_risk"].tolist() == [6, 5, 3, 1]
    assert s.loc[0, "km"] == pytest.approx(5 / 6)
    assert s.loc[2, "km"] == pytest.approx(2 / 3)
    assert s.loc[5, "km"] == pytest.approx(2 / 9)
    assert s.loc[5, "cif_unplanned"] == pytest.approx(7 / 18)
    assert s.loc[5, "cif_other"] == pytest.approx(7 / 18)
    assert s.loc[7, "km"] == pytest.approx(2 / 9)  # censoring does not move the curves
    # values between steps and numbers at risk (time >= t)
    at = fit.at([0, 1, 2, 3, 6, 7, 8])
    assert at["km"].tolist() == pytest.approx([5 / 6, 5 / 6, 2 / 3, 2 / 3, 2 / 9, 2 / 9, 2 / 9])
    assert at["n_at_risk"].tolist() == [6, 5, 5, 3, 1, 1, 0]
    assert at["estimable"].tolist() == [True] * 6 + [False]
    # Var F1 at t=0 = S(0-)^2 d(n-d)/n^3 = 5/216 (a binomial proportion 1/6 of 6)
    assert s.loc[0, "cif_unplanned_se"] == pytest.approx(math.sqrt(5 / 216))


def test_without_censoring_cif_is_the_plain_proportion():
    times = [0, 1, 1, 3, 4, 4, 4, 9]
    events = [UNPLANNED, OTHER, UNPLANNED, UNPLANNED, OTHER, OTHER, UNPLANNED, OTHER]
    at = fit_episodes(times, events).at(range(0, 11))
    for t in range(0, 11):
        expected = sum(1 for ti, e in zip(times, events) if ti <= t and e == UNPLANNED) / len(times)
        assert at.loc[t, "cif_unplanned"] == pytest.approx(expected)


def test_all_discharged_at_once_gives_zero_survival_and_degenerate_intervals():
    fit = fit_episodes([3, 3, 3], [UNPLANNED, UNPLANNED, OTHER])
    row = fit.steps.iloc[0]
    assert row["km"] == 0 and row["km_lo"] == 0 and row["km_hi"] == 0
    assert row["cif_unplanned"] == pytest.approx(2 / 3)
    assert fit.at([10])["estimable"].tolist() == [True]  # S = 0: nothing left to estimate


def test_empty_input_gives_nan_not_an_error():
    fit = fit_counts([], [], [], [])
    at = fit.at([0, 7])
    assert fit.n == 0 and at["km"].isna().all() and at["cif_unplanned"].isna().all()
    assert at["n_at_risk"].tolist() == [0, 0]


# -- an independent, slow implementation --------------------------------------------
def _slow_fit(times, events):
    """Per-distinct-time loop straight from the textbook formulas, on raw records.

    Returns {t: {km, f1, f2, var1, var2}} at each distinct time. The CIF variance is
    the delta-method sum written term by term (no running-sum algebra).
    """
    out = {}
    distinct = sorted(set(times))
    s_prev = 1.0
    history = []  # (n, d, d1, d2, s_before, f1_after, f2_after)
    f1 = f2 = 0.0
    for t in distinct:
        n = sum(1 for x in times if x >= t)
        d1 = sum(1 for x, e in zip(times, events) if x == t and e == UNPLANNED)
        d2 = sum(1 for x, e in zip(times, events) if x == t and e == OTHER)
        d = d1 + d2
        f1 += s_prev * d1 / n
        f2 += s_prev * d2 / n
        s_now = s_prev * (1 - d / n)
        history.append((n, d, d1, d2, s_prev, f1, f2))
        variances = []
        for k, f_t in ((2, f1), (3, f2)):
            total = 0.0
            for (nj, dj, d1j, d2j, sj, f1j, f2j) in history:
                dk = (d1j, d2j)[k - 2]
                fj = (f1j, f2j)[k - 2]
                a = dj / (nj * (nj - dj)) if nj > dj else 0.0
                total += (f_t - fj) ** 2 * a
                total += sj ** 2 * dk * (nj - dk) / nj ** 3
                total -= 2 * (f_t - fj) * sj * dk / nj ** 2
            variances.append(max(total, 0.0))
        out[t] = {"km": s_now, "f1": f1, "f2": f2, "var1": variances[0], "var2": variances[1]}
        s_prev = s_now
    return out


def _fitted(data):
    """The times and events of (time, event) records, and their fit."""
    times = [t for t, _ in data]
    events = [e for _, e in data]
    return times, events, fit_episodes(times, events)


records = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from([CENSORED, UNPLANNED, OTHER])),
    min_size=1, max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(records)
def test_agrees_with_slow_implementation(data):
    times, events, fit = _fitted(data)
    slow = _slow_fit(times, events)
    s = fit.steps.set_index("time")
    for t, ref in slow.items():
        assert s.loc[t, "km"] == pytest.approx(ref["km"], abs=1e-12)
        assert s.loc[t, "cif_unplanned"] == pytest.approx(ref["f1"], abs=1e-12)
        assert s.loc[t, "cif_other"] == pytest.approx(ref["f2"], abs=1e-12)
        # variances (not SEs): the running-sum algebra leaves ~1e-16 where the true value is 0
        assert s.loc[t, "cif_unplanned_se"] ** 2 == pytest.approx(ref["var1"], abs=1e-12)
        assert s.loc[t, "cif_other_se"] ** 2 == pytest.approx(ref["var2"], abs=1e-12)
        # CI from the slow variance, same log-log transform
        f = ref["f1"]
        if 0 < f < 1:
            se = math.sqrt(ref["var1"]) / abs(f * math.log(f))
            assert s.loc[t, "cif_unplanned_lo"] == pytest.approx(f ** math.exp(1.959964 * se), abs=1e-6)
            assert s.loc[t, "cif_unplanned_hi"] == pytest.approx(f ** math.exp(-1.959964 * se), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(records)
def test_properties(data):
    times, events, fit = _fitted(data)
    s = fit.steps
    # CIF(unplanned) + CIF(other) + KM = 1 at every step
    assert (s["cif_unplanned"] + s["cif_other"] + s["km"]).to_numpy() == pytest.approx(1.0, abs=1e-12)
    for col in ("km", "cif_unplanned", "cif_other"):
        assert ((s[col] >= -1e-12) & (s[col] <= 1 + 1e-12)).all()
        assert (s[f"{col}_lo"] <= s[col] + 1e-12).all() and (s[col] <= s[f"{col}_hi"] + 1e-12).all()
        assert (s[f"{col}_lo"] >= 0).all() and (s[f"{col}_hi"] <= 1 + 1e-12).all()
    # retention (1 - CIF_unplanned) and KM never rise; numbers at risk never rise
    at = fit.at(range(0, 45))
    retention = 1 - at["cif_unplanned"]
    assert (np.diff(retention.to_numpy()) <= 1e-12).all()
    assert (np.diff(at["km"].to_numpy()) <= 1e-12).all()
    assert (np.diff(at["n_at_risk"].to_numpy()) <= 0).all()
    assert at["n_at_risk"].iloc[0] == len(data)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.booleans()), min_size=1, max_size=50))
def test_one_cause_cif_variance_is_greenwood(data):
    times = [t for t, _ in data]
    events = [UNPLANNED if e else CENSORED for _, e in data]
    slow = _slow_fit(times, events)
    greenwood_sum = 0.0
    for t in sorted(set(times)):
        n = sum(1 for x in times if x >= t)
        d = sum(1 for x, e in zip(times, events) if x == t and e == UNPLANNED)
        if n > d:
            greenwood_sum += d / (n * (n - d))
            assert slow[t]["var1"] == pytest.approx(slow[t]["km"] ** 2 * greenwood_sum, abs=1e-12)

"""Funnel-plot limits against hand-computed values."""
from __future__ import annotations

import pandas as pd
import pytest

from analytics.qi import funnel as fn


def _units():
    # p0 = (45 + 60 + 195) / (50 + 100 + 250) = 300/400 = 0.75; p0(1-p0) = 0.1875.
    return pd.DataFrame({"unit": ["C", "A", "B"], "x": [195, 45, 60], "n": [250, 50, 100]})


def test_limits_hand_computed():
    plot = fn.funnel(_units())
    assert plot.p0 == pytest.approx(0.75)
    pts = plot.points.set_index("unit")
    # n = 50: sd = sqrt(0.1875/50) = 0.0612372; 1.96 sd = 0.1200250; 3.09 sd = 0.1892231
    assert pts.loc["A", "lo95"] == pytest.approx(0.6299750, abs=2e-6)
    assert pts.loc["A", "hi95"] == pytest.approx(0.8700250, abs=2e-6)
    assert pts.loc["A", "lo998"] == pytest.approx(0.5607769, abs=2e-6)
    assert pts.loc["A", "hi998"] == pytest.approx(0.9392231, abs=2e-6)
    # n = 100: sd = 0.0433013; 1.96 sd = 0.0848705; 3.09 sd = 0.1338009
    assert pts.loc["B", "lo95"] == pytest.approx(0.6651295, abs=2e-6)
    assert pts.loc["B", "lo998"] == pytest.approx(0.6161991, abs=2e-6)
    # n = 250: sd = 0.0273861; 1.96 sd = 0.0536768
    assert pts.loc["C", "hi95"] == pytest.approx(0.8036768, abs=2e-6)


def test_flags_and_outlier_wording():
    plot = fn.funnel(_units())
    pts = plot.points.set_index("unit")
    assert pts.loc["A", "flag"] == "alert" and pts.loc["A", "side"] == "above"  # 0.90 > 0.870
    assert pts.loc["B", "flag"] == "alarm" and pts.loc["B", "side"] == "below"  # 0.60 < 0.616
    assert pts.loc["C", "flag"] == ""  # 0.78 inside
    assert plot.outliers == (
        "A: 90.0% (n = 50) is above the 95% limit 87.0% around the overall 75.0%",
        "B: 60.0% (n = 100) is below the 99.8% limit 61.6% around the overall 75.0%",
    )


def test_units_listed_by_name_not_ranked():
    plot = fn.funnel(_units())
    assert plot.points["unit"].tolist() == ["A", "B", "C"]


def test_limits_clip_to_unit_interval_and_curve_spans_volumes():
    plot = fn.funnel(pd.DataFrame({"unit": ["a", "b"], "x": [1, 190], "n": [1, 200]}))
    assert plot.curve["lo998"].min() >= 0.0 and plot.curve["hi998"].max() <= 1.0
    assert plot.curve["n"].min() == pytest.approx(1.0)
    assert plot.curve["n"].max() >= 200
    # the curve narrows as n grows
    widths = (plot.curve["hi95"] - plot.curve["lo95"]).to_numpy()
    assert widths[0] >= widths[-1]


def test_zero_volume_units_left_out_and_empty_input():
    plot = fn.funnel(pd.DataFrame({"unit": ["a", "b"], "x": [0, 5], "n": [0, 10]}))
    assert plot.points["unit"].tolist() == ["b"]
    empty = fn.funnel(pd.DataFrame({"unit": [], "x": [], "n": []}))
    assert empty.p0 is None and empty.outliers == ()


def test_one_funnel_per_program_with_its_own_overall_rate():
    units = pd.DataFrame({
        "program": ["Adult", "Adult", "Teen", "Teen"],
        "unit": ["N", "S", "N", "S"],
        "x": [80, 90, 10, 30], "n": [100, 100, 50, 50],
    })
    plots = fn.funnel_by_program(units, title="Attendance")
    assert set(plots) == {"Adult", "Teen"}
    assert plots["Adult"].p0 == pytest.approx(0.85)
    assert plots["Teen"].p0 == pytest.approx(0.40)


# -- from the store: hand-made data in tests/qi_fixture.py ----------------------
from analytics.filters import Filters  # noqa: E402
from analytics.store import bind_filters  # noqa: E402
from tests import qi_fixture  # noqa: E402


def _counts(store, measure, unit):
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=qi_fixture.AS_OF))
        return fn.funnel_counts(cur, measure, unit).set_index("unit")[["x", "n"]].to_dict("index")


def test_attendance_by_session_clinician_and_site(store):
    qi_fixture.fill(store)
    # Bea: s1 attended, s2 no-show, s4 attended. Al: s3. Cy: s6 (patient cancelled), s7, s8, s9 (s5 program-cancelled).
    assert _counts(store, "attendance_rate", "clinician") == {
        "Al": {"x": 1, "n": 1}, "Bea": {"x": 2, "n": 3}, "Cy": {"x": 2, "n": 4}}
    assert _counts(store, "attendance_rate", "site") == {"North": {"x": 3, "n": 5}, "South": {"x": 2, "n": 3}}


def test_episode_measures_by_primary_clinician(store):
    qi_fixture.fill(store)
    # e1 -> Bea (180 min); e2 -> Al (60 vs Bea's 60: tie, alphabetical); e3 -> Cy; e4 has no sessions.
    assert _counts(store, "completion_rate", "clinician") == {
        "Al": {"x": 1, "n": 1}, "Bea": {"x": 0, "n": 1}, "Cy": {"x": 0, "n": 0}}
    # admitted by 20 Feb (as_of - 28): all four; e1 left unplanned on day 15.
    assert _counts(store, "retention_week_4", "clinician") == {
        "Al": {"x": 1, "n": 1}, "Bea": {"x": 0, "n": 1}, "Cy": {"x": 1, "n": 1}}
    assert _counts(store, "retention_week_4", "site") == {"North": {"x": 1, "n": 2}, "South": {"x": 2, "n": 2}}


def test_funnels_one_per_program(store):
    qi_fixture.fill(store)
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=qi_fixture.AS_OF))
        plots = fn.funnels(cur, "attendance_rate", "site")
    assert list(plots) == [qi_fixture.PROGRAM]
    assert plots[qi_fixture.PROGRAM].p0 == pytest.approx(5 / 8)
    assert plots[qi_fixture.PROGRAM].points["patients"].tolist() == [2, 1]


def test_unknown_unit_rejected(store):
    with store.read() as cur:
        bind_filters(cur, Filters())
        with pytest.raises(ValueError):
            fn.funnel_counts(cur, "attendance_rate", "site; DROP TABLE sessions")

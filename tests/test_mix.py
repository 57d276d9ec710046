"""Therapy mix and component reach: hand-worked cases and properties (hypothesis)."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.metrics import mix
from analytics.store.schema import SESSION_STATUSES, SESSION_TYPES
from tests.conftest import add_enrollments, add_sessions, bound
from tests.store_rows import empty_store, filled_store, scratch_store_fixture


# the rows: tests/fixtures/rows/mix.toml; attended minutes: group 300, individual 60,
# family 60, life_skills 90; total 510
filled = filled_store("mix")


def test_therapy_mix_by_hand(filled):
    with bound(filled) as cur:
        shares = mix.therapy_mix(cur)
        table = mix.therapy_mix_table(cur).set_index("session_type")
    # relapse_prevention had no attended session, so it is not listed
    assert shares == pytest.approx({"group": 300 / 510, "individual": 60 / 510,
                                    "family": 60 / 510, "life_skills": 90 / 510})
    assert sum(shares.values()) == pytest.approx(1)
    assert table.loc["group", "attended_minutes"] == 300
    assert table.loc["group", "sessions"] == 2
    assert table.loc["group", "episodes"] == 2 and table.loc["group", "patients"] == 2


def test_mix_by_program_week_and_program(filled):
    with bound(filled) as cur:
        weeks = mix.mix_by_program_week(cur).set_index(["week_number", "session_type"])
        programs = mix.mix_by(cur, "program").set_index(["program", "session_type"])
        days = mix.mix_by(cur, "weekday")
    # week 1: e1 group 180 + individual 60, e2 group 120 -> 360 minutes
    assert weeks.loc[(1, "group"), "share"] == pytest.approx(300 / 360)
    assert weeks.loc[(1, "individual"), "share"] == pytest.approx(60 / 360)
    # week 2: e1 family 60, e2 life skills 90
    assert weeks.loc[(2, "family"), "share"] == pytest.approx(60 / 150)
    assert weeks.loc[(2, "life_skills"), "episodes"] == 1
    assert programs.loc[("Adult IOP", "group"), "share"] == pytest.approx(180 / 300)
    assert programs.loc[("Adolescent IOP", "life_skills"), "share"] == pytest.approx(90 / 210)
    assert programs.groupby(level=0)["share"].sum().tolist() == pytest.approx([1, 1])
    assert days["weekday"].iloc[0] == "Monday"


def test_mix_per_episode_by_hand(filled):
    with bound(filled) as cur:
        t = mix.mix_per_episode(cur).set_index("session_type")
    # e1: group 180/300, individual 60/300, family 60/300, life_skills 0
    # e2: group 120/210, life_skills 90/210, the others 0. e3 attended nothing: left out.
    assert t["episodes"].tolist() == [2, 2, 2, 2]
    assert t.loc["group", "mean_share"] == pytest.approx((180 / 300 + 120 / 210) / 2)
    assert t.loc["life_skills", "median_share"] == pytest.approx((0 + 90 / 210) / 2)
    assert t.loc["family", "episodes_with_type"] == 1
    assert t.loc["family", "share_of_episodes_without"] == pytest.approx(0.5)


def test_component_reach_by_hand(filled):
    with bound(filled) as cur:
        reach = mix.component_reach(cur)
    assert reach["session_type"].tolist() == list(SESSION_TYPES)
    r = reach.set_index("session_type")
    # denominator: the 2 episodes that attended anything (e3 never did)
    assert (r["episodes_attending"] == 2).all()
    assert r.loc["group", "episodes_reached"] == 2 and r.loc["group", "reach"] == 1.0
    assert r.loc["family", "reach"] == pytest.approx(0.5)
    # a no-show is not receiving the component
    assert r.loc["relapse_prevention", "episodes_reached"] == 0
    assert r.loc["relapse_prevention", "reach"] == 0.0


def test_as_of_and_empty_selection(filled):
    with bound(filled, as_of=date(2024, 1, 2)) as cur:
        assert mix.therapy_mix(cur) == pytest.approx({"group": 0.75, "individual": 0.25})
    with bound(filled, sites=("Nowhere",)) as cur:
        assert mix.therapy_mix(cur) == {}
        assert mix.mix_by_program_week(cur).empty
        assert mix.mix_by(cur, "site").empty
        assert mix.mix_per_episode(cur).empty
        assert mix.component_reach(cur).empty


# -- properties ---------------------------------------------------------------
_session = st.tuples(
    st.integers(0, 2), st.integers(-3, 100), st.sampled_from(SESSION_TYPES),
    st.integers(0, 240), st.sampled_from(SESSION_STATUSES),
)


scratch_store = scratch_store_fixture("mix.duckdb")


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_session, max_size=30))
def test_mix_sums_to_one(scratch_store, rows):
    empty_store(scratch_store)
    add_enrollments(scratch_store, [
        (f"e{i}", f"p{i}", ("North", "South")[i % 2], "Adult IOP", "2024-01-01", None, None)
        for i in range(3)
    ])
    add_sessions(scratch_store, [
        (f"s{n}", f"e{ep}", date(2024, 1, 1) + timedelta(days=day), typ, "c1", 240,
         minutes if status == "attended" else 0, status)
        for n, (ep, day, typ, minutes, status) in enumerate(rows)
    ])
    with bound(scratch_store) as cur:
        shares = mix.therapy_mix(cur)
        by_site = mix.mix_by(cur, "site")
        by_week = mix.mix_by_program_week(cur)
        reach = mix.component_reach(cur)
    attended = pd.DataFrame(
        [r for r in rows if r[4] == "attended"], columns=["ep", "day", "type", "minutes", "status"]
    )
    if attended.minutes.sum() > 0:
        assert sum(shares.values()) == pytest.approx(1)
        assert set(shares) == set(attended.type)
        assert all(0 <= s <= 1 for s in shares.values())
        for frame, key in ((by_site, "site"), (by_week, "week_number")):
            sums = frame.dropna(subset=["share"]).groupby(key)["share"].sum()
            assert sums.to_numpy() == pytest.approx([1.0] * len(sums))
    else:
        assert shares == {}
    if attended.empty:
        assert reach.empty
    else:
        assert (reach["episodes_attending"] == attended.ep.nunique()).all()
        assert reach["reach"].between(0, 1).all()

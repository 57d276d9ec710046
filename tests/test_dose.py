"""Weekly dose: hand-worked episodes, and a second, independent pandas implementation
of the definition (one loop over weeks and days) on random data (hypothesis)."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import config
from analytics.metrics import dose
from analytics.store import Store
from tests.conftest import add_enrollments, add_sessions, bound
from tests.store_rows import empty_store, filled_store, scratch_store_fixture


# e1 adult, admitted Monday 2024-01-01, discharged Wednesday 2024-01-24: weeks
#   1 (01-01..01-07) 540 min = 9 h, met; 2 (01-08..01-14) no session: 0 h;
#   3 (01-15..01-21) 180 min = 3 h; 4 (01-22..01-28) ends after discharge: not counted.
# e2 adolescent (6 h target), active; the store's as_of is 01-24, so 3 complete weeks:
#   360 min = 6 h (met, would miss an adult's 9 h), 300 min = 5 h, 390 min = 6.5 h (met).
# e3 adult discharged the day it was admitted, e4 adult admitted 01-20: no complete week.


filled = filled_store("dose")  # the rows: tests/fixtures/rows/dose.toml


def test_hand_worked_summary(filled):
    with bound(filled) as cur:
        s = dose.dose_summary(cur)
    assert s.episode_weeks == 6
    assert s.episodes == 2 and s.patients == 2
    # minutes 0, 180, 300, 360, 390, 540: an even count, the mean of 300 and 360
    assert s.median_weekly_hours == pytest.approx(330 / 60)
    # met: e1 week 1 (9 h), e2 weeks 1 and 3 (>= 6 h)
    assert s.dose_target_met_rate == pytest.approx(3 / 6)
    assert s.target_hours == {"Adolescent IOP": 6.0, "Adult IOP": 9.0}


def test_targets_come_from_config():
    assert config.dose_target_hours("Adult IOP") == 9.0
    assert config.dose_target_hours("Adolescent IOP") == 6.0
    assert config.dose_target_hours("Teen evening track") == 6.0


def test_as_of_before_the_data_end(filled):
    # On 01-13 week 2 (ending 01-14) is not complete for anyone; e1's discharge is unknown.
    with bound(filled, as_of=date(2024, 1, 13)) as cur:
        s = dose.dose_summary(cur)
    assert s.episode_weeks == 2
    assert s.median_weekly_hours == pytest.approx((540 + 360) / 2 / 60)
    assert s.dose_target_met_rate == 1.0
    # On 01-14 week 2 completes, for e1 too (its discharge is still in the future).
    with bound(filled, as_of=date(2024, 1, 14)) as cur:
        s = dose.dose_summary(cur)
        by_week = dose.dose_by_program_week(cur)
    assert s.episode_weeks == 4
    assert by_week["episode_weeks"].tolist() == [2, 2]
    assert by_week["median_weekly_hours"].tolist() == pytest.approx([450 / 60, 150 / 60])


def test_by_program_week_by_hand(filled):
    with bound(filled) as cur:
        t = dose.dose_by_program_week(cur).set_index("week_number")
    assert t.index.tolist() == [1, 2, 3]
    assert t["episode_weeks"].tolist() == [2, 2, 2]
    assert t["episodes"].tolist() == [2, 2, 2]
    assert t["patients"].tolist() == [2, 2, 2]
    assert t["dose_target_met_rate"].tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert t["median_weekly_hours"].tolist() == pytest.approx([450 / 60, 150 / 60, 285 / 60])
    assert t["mean_weekly_hours"].tolist() == pytest.approx([450 / 60, 150 / 60, 285 / 60])


def test_by_program_and_site_percentiles(filled):
    with bound(filled) as cur:
        by_program = dose.weekly_hours_percentiles(cur).set_index("program")
        by_site = dose.dose_by(cur, "site").set_index("site")
        by_payer = dose.dose_by(cur, "payer").set_index("payer")
    adult = by_program.loc["Adult IOP"]  # minutes 0, 180, 540
    assert adult["target_hours"] == 9.0
    assert adult["episode_weeks"] == 3 and adult["episodes"] == 1
    assert adult["median_weekly_hours"] == pytest.approx(3.0)
    assert adult["p25_hours"] == pytest.approx(1.5)  # halfway between 0 and 180 minutes
    assert adult["p90_hours"] == pytest.approx((180 + 0.8 * 360) / 60)
    assert adult["dose_target_met_rate"] == pytest.approx(1 / 3)
    teen = by_program.loc["Adolescent IOP"]  # 300, 360, 390
    assert teen["target_hours"] == 6.0
    assert teen["median_weekly_hours"] == pytest.approx(6.0)
    assert teen["dose_target_met_rate"] == pytest.approx(2 / 3)
    # North holds e1 (e3 and e4 have no complete week), South e2
    assert by_site.loc["North", "episode_weeks"] == 3 and by_site.loc["North", "episodes"] == 1
    assert by_site.loc["South", "median_weekly_hours"] == pytest.approx(6.0)
    assert by_payer.loc["Medicaid", "mean_weekly_hours"] == pytest.approx(720 / 3 / 60)


def test_histogram_by_hand(filled):
    with bound(filled) as cur:
        h = dose.weekly_hours_distribution(cur)
    got = {(r.program, r.hours_from): (r.episode_weeks, r.met_weeks, bool(r.met), r.patients)
           for r in h.itertuples()}
    assert got == {
        ("Adult IOP", 0.0): (1, 0, False, 1),
        ("Adult IOP", 3.0): (1, 0, False, 1),
        ("Adult IOP", 9.0): (1, 1, True, 1),
        ("Adolescent IOP", 5.0): (1, 0, False, 1),
        ("Adolescent IOP", 6.0): (1, 1, True, 1),
        ("Adolescent IOP", 6.5): (1, 1, True, 1),
    }
    assert (h["hours_to"] - h["hours_from"] == 0.5).all()


def test_empty_selection(filled):
    with bound(filled, programs=("No such program",)) as cur:
        s = dose.dose_summary(cur)
        frames = [dose.dose_by_program_week(cur), dose.weekly_hours_distribution(cur),
                  dose.weekly_hours_percentiles(cur), dose.dose_by(cur, "site")]
    assert (s.episode_weeks, s.median_weekly_hours, s.dose_target_met_rate) == (0, None, None)
    assert all(f.empty for f in frames)


def test_no_complete_week_yet(filled):
    with bound(filled, sites=("North",), admitted_from=date(2024, 1, 5)) as cur:  # e3, e4
        s = dose.dose_summary(cur)
    assert s.episode_weeks == 0 and s.median_weekly_hours is None


# -- an independent implementation -------------------------------------------------
def pandas_episode_weeks(enrollments: pd.DataFrame, sessions: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The definition followed literally, week by week and day by day, in plain pandas."""
    attended = sessions[(sessions.status == "attended") & (sessions.session_date <= as_of)]
    minutes_by_day = attended.groupby(["episode_id", "session_date"])["attended_minutes"].sum().to_dict()
    rows = []
    for e in enrollments.itertuples():
        if e.admit_date > as_of:
            continue
        discharge = e.discharge_date if e.discharge_date is not None and e.discharge_date <= as_of else None
        end = min(discharge or as_of, as_of)
        k = 1
        while e.admit_date + timedelta(days=7 * k - 1) <= end:
            days = [e.admit_date + timedelta(days=7 * (k - 1) + i) for i in range(7)]
            minutes = sum(minutes_by_day.get((e.episode_id, d), 0) for d in days)
            target = 6.0 if "adolescent" in e.program.lower() else 9.0
            rows.append({"episode_id": e.episode_id, "patient_id": e.patient_id, "site": e.site,
                         "program": e.program, "week_number": k, "hours": minutes / 60,
                         "target": target, "met": minutes / 60 >= target})
            k += 1
    return pd.DataFrame(rows, columns=["episode_id", "patient_id", "site", "program", "week_number",
                                       "hours", "target", "met"])


PROGRAMS = ("Adult IOP", "Adolescent IOP")
SITES = ("North", "South")
START = date(2024, 3, 1)


@st.composite
def random_data(draw):
    n = draw(st.integers(1, 6))
    enrollments = []
    for i in range(n):
        admit = START + timedelta(days=draw(st.integers(0, 40)))
        stay = draw(st.one_of(st.none(), st.integers(0, 50)))
        enrollments.append({
            "episode_id": f"e{i}", "patient_id": f"p{draw(st.integers(0, 3))}",
            "site": draw(st.sampled_from(SITES)), "program": draw(st.sampled_from(PROGRAMS)),
            "admit_date": admit,
            "discharge_date": None if stay is None else admit + timedelta(days=stay),
        })
    sessions = []
    for j in range(draw(st.integers(0, 60))):
        e = enrollments[draw(st.integers(0, n - 1))]
        status = draw(st.sampled_from(["attended"] * 4 + ["no_show", "patient_cancelled", "program_cancelled"]))
        sched = draw(st.sampled_from([60, 90, 180]))
        sessions.append({
            "session_id": f"s{j}", "episode_id": e["episode_id"],
            # some sessions fall before admission or after discharge (bad exports do that)
            "session_date": e["admit_date"] + timedelta(days=draw(st.integers(-2, 60))),
            "session_type": "group", "clinician": "c1", "scheduled_minutes": sched,
            "attended_minutes": draw(st.integers(0, sched)) if status == "attended" else 0,
            "status": status,
        })
    as_of = draw(st.one_of(st.none(), st.dates(START, START + timedelta(days=90))))
    return pd.DataFrame(enrollments), pd.DataFrame(sessions, columns=[
        "session_id", "episode_id", "session_date", "session_type", "clinician",
        "scheduled_minutes", "attended_minutes", "status"]), as_of


scratch_store = scratch_store_fixture("dose.duckdb")


def _refill(store: Store, enrollments: pd.DataFrame, sessions: pd.DataFrame) -> None:
    empty_store(store)
    add_enrollments(store, [
        (r.episode_id, r.patient_id, r.site, r.program, r.admit_date, r.discharge_date,
         None if r.discharge_date is None else "completed")
        for r in enrollments.itertuples()
    ])
    add_sessions(store, [tuple(r) for r in sessions.itertuples(index=False)])


def _default_as_of(enrollments: pd.DataFrame, sessions: pd.DataFrame) -> date:
    dates = list(enrollments.admit_date) + [d for d in enrollments.discharge_date if d is not None]
    return max(dates + list(sessions.session_date))


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=random_data())
def test_matches_an_independent_pandas_implementation(scratch_store, data):
    enrollments, sessions, as_of = data
    _refill(scratch_store, enrollments, sessions)
    effective = as_of or _default_as_of(enrollments, sessions)
    expected = pandas_episode_weeks(enrollments, sessions, effective)
    with bound(scratch_store, as_of=as_of) as cur:
        summary = dose.dose_summary(cur)
        by_week = dose.dose_by_program_week(cur)
        by_program = dose.weekly_hours_percentiles(cur)
        by_site = dose.dose_by(cur, "site")
        histogram = dose.weekly_hours_distribution(cur)

    assert summary.episode_weeks == len(expected)
    if expected.empty:
        assert summary.median_weekly_hours is None and summary.dose_target_met_rate is None
        assert by_week.empty and by_program.empty and by_site.empty and histogram.empty
        return
    assert summary.median_weekly_hours == pytest.approx(float(np.median(expected.hours)))
    assert summary.dose_target_met_rate == pytest.approx(expected.met.mean())
    assert summary.episodes == expected.episode_id.nunique()
    assert summary.patients == expected.patient_id.nunique()

    first12 = expected[expected.week_number <= 12].groupby("week_number")
    assert by_week.week_number.tolist() == sorted(first12.groups)
    assert by_week.episode_weeks.tolist() == first12.size().tolist()
    assert by_week.patients.tolist() == first12.patient_id.nunique().tolist()
    assert by_week.median_weekly_hours.tolist() == pytest.approx(first12.hours.median().tolist())
    assert by_week.dose_target_met_rate.tolist() == pytest.approx(first12.met.mean().tolist())

    for column, frame in (("program", by_program), ("site", by_site)):
        groups = expected.groupby(column)
        frame = frame.set_index(column).loc[sorted(groups.groups)]
        assert frame.episode_weeks.tolist() == groups.size().tolist()
        assert frame.episodes.tolist() == groups.episode_id.nunique().tolist()
        assert frame.patients.tolist() == groups.patient_id.nunique().tolist()
        assert frame.dose_target_met_rate.tolist() == pytest.approx(groups.met.mean().tolist())
        assert frame.mean_weekly_hours.tolist() == pytest.approx(groups.hours.mean().tolist())
        for q, name in ((0.1, "p10_hours"), (0.25, "p25_hours"), (0.5, "median_weekly_hours"),
                        (0.75, "p75_hours"), (0.9, "p90_hours")):
            want = groups.hours.quantile(q).tolist()  # pandas' linear = DuckDB's quantile_cont
            assert frame[name].tolist() == pytest.approx(want), name

    bins = expected.assign(hours_from=(expected.hours * 60 // 30) * 0.5).groupby(["program", "hours_from"])
    got_bins = histogram.set_index(["program", "hours_from"]).sort_index()
    assert got_bins.episode_weeks.to_dict() == bins.size().sort_index().to_dict()
    assert got_bins.episodes.to_dict() == bins.episode_id.nunique().sort_index().to_dict()
    assert got_bins.patients.to_dict() == bins.patient_id.nunique().sort_index().to_dict()
    assert got_bins.met_weeks.to_dict() == bins.met.sum().sort_index().to_dict()

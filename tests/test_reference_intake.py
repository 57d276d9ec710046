"""The pandas access figures (benchmarks/pandas_intake.py) against the hand-worked cases in
tests/fixtures/intake/, plus properties on generated data."""
from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pandas as pd
from conftest import add_enrollments, add_sessions
from fixture_cases import case_paths, load_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_cases import assert_figures_equal, check_hand_worked_case, each_case, frames_with_dates

from analytics.filters import Filters, Scope
from benchmarks.pandas_intake import ACCESS_KEYS, OUTCOMES, pandas_access
from benchmarks.pandas_selection import ENROLLMENT_FRAME, SESSION_FRAME, read_table

CASES = case_paths("intake")


def _run(case, dates: str) -> dict:
    frames = frames_with_dates(case, dates)
    return pandas_access(frames["enrollments"], frames["sessions"], frames["referrals"],
                         case.filters, case.scope, case.as_of)


def test_there_are_enough_cases():
    assert len(CASES) >= 12


def _access_shape(case, got: dict) -> None:
    assert tuple(got) == ACCESS_KEYS
    assert tuple(got["continuation"]) == ("day_1", "day_2", "day_3", "day_4")
    assert tuple(got["referral_outcomes"]) == OUTCOMES


@each_case(CASES)
def test_hand_worked_case(path, dates):
    check_hand_worked_case(path, lambda case: _run(case, dates), _access_shape)


def test_enrollments_without_a_first_contact_column():
    """An export without the optional column reads as every first contact unknown."""
    case = load_case(next(p for p in CASES if p.stem == "wait_first_contact_sources"))
    enr = case.frames["enrollments"].drop(columns=["first_contact_date"])
    got = pandas_access(enr, case.frames["sessions"], case.frames["referrals"], as_of=case.as_of)
    # e2 keeps its referral's first contact (wait 7), e3 falls back to its referral's 04-01 (wait 11)
    assert got["wait_measured"] == 2 and got["median_wait_days"] == 9.0


def test_enrollments_and_sessions_read_from_a_store(store):
    """read_table on a real store: the enrollment column a store does not hold yet reads as null."""
    case = load_case(next(p for p in CASES if p.stem == "continuation_boundaries"))
    rows = case.rows
    add_enrollments(store, [(r["episode_id"], r["patient_id"], r["site"], r["program"], r["admit_date"],
                             r["discharge_date"], r["discharge_reason"], r["planned_weeks"], r["extra"])
                            for r in rows["enrollments"]])
    add_sessions(store, [tuple(r[c] for c in SESSION_FRAME) for r in rows["sessions"]])
    with store.read() as cur:
        enr = read_table(cur, "enrollments", ENROLLMENT_FRAME)
        ses = read_table(cur, "sessions", SESSION_FRAME)
    assert enr["first_contact_date"].isna().all() and enr["extra"].map(type).eq(dict).all()
    got = pandas_access(enr, ses, case.frames["referrals"], as_of=case.as_of)
    assert_figures_equal(got, dict(case.expected))


def test_admitted_referral_without_its_episode_is_pending():
    """The importer refuses such a row, but a store read in between imports may show one."""
    case = load_case(next(p for p in CASES if p.stem == "referral_outcomes_pending"))
    enr = case.frames["enrollments"]
    got = pandas_access(enr[enr["episode_id"] != "e1"], case.frames["sessions"], case.frames["referrals"],
                        as_of=case.as_of)
    # r1 (admitted to the now missing e1) joins r2 and r7 as pending: 0 admitted of 7 - 3
    assert got["referral_outcomes"]["pending"] == 3 and got["referral_outcomes"]["admitted"] == 0
    assert got["admission_rate"] == 0.0


# -- properties on generated data -------------------------------------------------------------

START = date(2024, 1, 1)
# Offsets at the edges of the continuation and IET windows, drawn often.
EDGES = (0, 1, 13, 14, 27, 28, 34, 35, 47, 48)


@st.composite
def stores(draw):
    n_ep = draw(st.integers(0, 6))
    enr, ses, ref = [], [], []
    for e in range(n_ep):
        admit = START + timedelta(days=draw(st.integers(0, 90)))
        contact = draw(st.one_of(st.none(), st.integers(0, 20)))
        enr.append({"episode_id": f"e{e}", "patient_id": f"p{e}", "site": draw(st.sampled_from(["N", "S"])),
                    "program": "Adult IOP", "admit_date": admit, "discharge_date": None,
                    "first_contact_date": None if contact is None else admit - timedelta(days=contact),
                    "extra": {}})
        for k in range(draw(st.integers(0, 8))):
            offset = draw(st.one_of(st.sampled_from(EDGES), st.integers(-3, 70)))
            ses.append({"session_id": f"s{e}-{k}", "episode_id": f"e{e}",
                        "session_date": admit + timedelta(days=offset),
                        "status": draw(st.sampled_from(["attended", "attended", "no_show", "program_cancelled"]))})
    for r in range(draw(st.integers(0, 6))):
        outcome = draw(st.sampled_from(OUTCOMES))
        episode = f"e{draw(st.integers(0, n_ep - 1))}" if outcome == "admitted" and n_ep else None
        if outcome == "admitted" and episode is None:
            outcome = "declined"
        contact = START + timedelta(days=draw(st.integers(-20, 100)))
        intake = draw(st.one_of(st.none(), st.integers(0, 20)))
        ref.append({"referral_id": f"r{r}", "patient_id": f"q{r}", "site": draw(st.sampled_from(["N", "S"])),
                    "program": "Adult IOP", "first_contact_date": contact,
                    "intake_assessment_date": None if intake is None else contact + timedelta(days=intake),
                    "outcome": outcome, "episode_id": episode, "extra": {}})
    as_of = START + timedelta(days=draw(st.integers(0, 200)))
    return enr, ses, ref, as_of


def _frames(enr, ses, ref) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    enr_df = pd.DataFrame(enr, columns=["episode_id", "patient_id", "site", "program", "admit_date",
                                        "discharge_date", "first_contact_date", "extra"])
    ses_df = pd.DataFrame(ses, columns=["session_id", "episode_id", "session_date", "status"])
    ref_df = pd.DataFrame(ref, columns=["referral_id", "patient_id", "site", "program", "first_contact_date",
                                        "intake_assessment_date", "outcome", "episode_id", "extra"])
    for frame, cols in ((enr_df, ("admit_date", "discharge_date", "first_contact_date")),
                        (ses_df, ("session_date",)),
                        (ref_df, ("first_contact_date", "intake_assessment_date"))):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return enr_df, ses_df, ref_df


def _share(num: int, den: int) -> float | None:
    return float(Fraction(num, den)) if den else None


def _median(values: list[int]) -> float | None:
    if not values:
        return None
    v, mid = sorted(values), len(values) // 2
    return float(v[mid]) if len(v) % 2 else float(Fraction(v[mid - 1] + v[mid], 2))


def slow_access(enr: list[dict], ses: list[dict], ref: list[dict], as_of: date) -> dict:
    """The definitions read literally, one episode and one referral at a time (no filters)."""
    day = timedelta(days=1)
    selected = [e for e in enr if e["admit_date"] <= as_of]
    waits, cont, eligible_c, eligible_iet, initiated, engaged = [], [0, 0, 0, 0], 0, 0, 0, 0
    for e in selected:
        attended = sorted({s["session_date"] for s in ses if s["episode_id"] == e["episode_id"]
                           and s["status"] == "attended" and s["session_date"] <= as_of})
        contact = e["first_contact_date"]
        if contact is None:
            from_refs = [r["first_contact_date"] for r in ref
                         if r["outcome"] == "admitted" and r["episode_id"] == e["episode_id"]]
            contact = min(from_refs) if from_refs else None
        if contact is not None and attended:
            waits.append((attended[0] - contact).days)
        admit = e["admit_date"]
        if admit <= as_of - 28 * day:
            eligible_c += 1
            units = sum(admit <= d <= admit + 27 * day for d in attended)
            for k in range(4):
                cont[k] += units >= k + 1
        index = contact if contact is not None else admit
        if index <= as_of - 47 * day:
            eligible_iet += 1
            starts = [d for d in attended if index <= d <= index + 13 * day]
            if starts:
                initiated += 1
                start = starts[0]
                engaged += sum(start + day <= d <= start + 34 * day for d in attended) >= 2
    admit_of = {e["episode_id"]: e["admit_date"] for e in enr}
    chosen = [r for r in ref if r["first_contact_date"] <= as_of]
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for r in chosen:
        late = r["outcome"] == "admitted" and not (admit_of.get(r["episode_id"]) or date.max) <= as_of
        outcomes["pending" if late else r["outcome"]] += 1
    intake = [(r["intake_assessment_date"] - r["first_contact_date"]).days for r in chosen
              if r["intake_assessment_date"] is not None and r["intake_assessment_date"] <= as_of]
    return {
        "median_wait_days": _median(waits), "wait_measured": len(waits),
        "continuation": {f"day_{k + 1}": _share(cont[k], eligible_c) for k in range(4)},
        "continuation_eligible": eligible_c, "iet_eligible": eligible_iet,
        "initiation_rate": _share(initiated, eligible_iet), "engagement_rate": _share(engaged, eligible_iet),
        "referrals": len(chosen), "referral_outcomes": outcomes,
        "admission_rate": _share(outcomes["admitted"], len(chosen) - outcomes["pending"]),
        "median_days_to_intake_assessment": _median(intake),
    }


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores())
def test_agrees_with_the_definitions_read_literally(data):
    enr, ses, ref, as_of = data
    got = pandas_access(*_frames(enr, ses, ref), as_of=as_of)
    assert_figures_equal(got, slow_access(enr, ses, ref, as_of))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores())
def test_properties(data):
    enr, ses, ref, as_of = data
    out = pandas_access(*_frames(enr, ses, ref), as_of=as_of)
    c = out["continuation"]
    if out["continuation_eligible"]:
        assert 1.0 >= c["day_1"] >= c["day_2"] >= c["day_3"] >= c["day_4"] >= 0.0
    else:
        assert set(c.values()) == {None}
    if out["iet_eligible"]:
        assert 0.0 <= out["engagement_rate"] <= out["initiation_rate"] <= 1.0
    else:
        assert out["initiation_rate"] is None and out["engagement_rate"] is None
    assert out["wait_measured"] <= sum(e["admit_date"] <= as_of for e in enr)
    assert (out["median_wait_days"] is None) == (out["wait_measured"] == 0)
    assert sum(out["referral_outcomes"].values()) == out["referrals"]
    if out["admission_rate"] is not None:
        assert 0.0 <= out["admission_rate"] <= 1.0
    if out["median_days_to_intake_assessment"] is not None:
        assert out["median_days_to_intake_assessment"] >= 0


@settings(max_examples=25, deadline=None)
@given(stores(), st.sampled_from(["N", "S"]))
def test_site_filter_and_site_scope_agree(data, site):
    enr, ses, ref, as_of = data
    frames = _frames(enr, ses, ref)
    by_filter = pandas_access(*frames, Filters(sites=(site,)), as_of=as_of)
    by_scope = pandas_access(*frames, scope=Scope(allowed_sites=(site,)), as_of=as_of)
    assert by_filter == by_scope

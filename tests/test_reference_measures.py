"""The pandas measures (benchmarks/pandas_measures.py) against the hand-worked cases in
tests/fixtures/measures/, plus properties on generated data."""
from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pandas as pd
import pytest
from fixture_cases import case_paths, load_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_cases import assert_figures_equal, check_hand_worked_case, each_case, frames_with_dates

from analytics.filters import Filters, Scope
from benchmarks.pandas_measures import MEASURE_KEYS, Instrument, builtin_instruments, pandas_measures

CASES = case_paths("measures")


def _run(case, dates: str) -> dict:
    frames = frames_with_dates(case, dates)
    return pandas_measures(frames["enrollments"], frames["assessments"], case.instruments,
                           case.filters, case.scope, case.as_of, sessions=frames["sessions"],
                           referrals=frames["referrals"])


def test_there_are_enough_cases():
    assert len(CASES) >= 12


def _measures_shape(case, got: dict) -> None:
    assert list(got) == [i.name for i in case.instruments]
    for name, figures in got.items():
        assert tuple(figures) == MEASURE_KEYS
        assert [set(w) for w in figures["by_week"]] == [{"week", "n", "mean"}] * len(figures["by_week"])


@each_case(CASES)
def test_hand_worked_case(path, dates):
    check_hand_worked_case(path, lambda case: _run(case, dates), _measures_shape)


def test_instruments_as_plain_dicts_give_the_same_figures():
    case = load_case(next(p for p in CASES if p.stem == "higher_is_better"))
    as_dicts = [i.as_dict() for i in case.instruments]
    f = case.frames
    assert pandas_measures(f["enrollments"], f["assessments"], as_dicts, as_of=case.as_of) == \
        pandas_measures(f["enrollments"], f["assessments"], case.instruments, as_of=case.as_of)


def test_builtin_instruments_follow_the_published_table():
    table = {i.name: i for i in builtin_instruments()}
    assert list(table) == ["phq9", "gad7", "bam_use", "bam_risk", "bam_protective", "uds"]
    phq9, gad7, uds = table["phq9"], table["gad7"], table["uds"]
    assert (phq9.max, phq9.caseness, phq9.reliable_change, phq9.remission_below, phq9.every_days) == (27, 10, 6, 5, 14)
    assert phq9.response_drop * 2 == 1
    assert (gad7.max, gad7.caseness, gad7.reliable_change, gad7.response_drop) == (21, 8, 4, None)
    assert table["bam_use"].remission_below == 1 and table["bam_protective"].higher_is == "better"
    assert (uds.min, uds.max, uds.every_days) == (0, 1, 7)


def test_response_drop_from_toml_float_is_exact():
    ins = Instrument.from_dict({"name": "x", "min": 0, "max": 30, "higher_is": "worse", "every_days": 7,
                                "caseness": 10, "response_drop": 0.56})
    enr = pd.DataFrame({"episode_id": ["e1"], "patient_id": ["p"], "site": ["N"], "program": ["P"],
                        "admit_date": pd.to_datetime(["2024-01-01"]), "discharge_date": pd.to_datetime([None])})
    # 25 x (1 - 0.56) = 11 exactly; in binary floating point 25 * (1 - 0.56) = 10.999999999999998
    ass = pd.DataFrame({"assessment_id": ["a1", "a2"], "episode_id": ["e1", "e1"],
                        "assessment_date": pd.to_datetime(["2024-01-01", "2024-01-10"]),
                        "instrument": ["x", "x"], "score": [25, 11]})
    got = pandas_measures(enr, ass, [ins], as_of=date(2024, 1, 31))["x"]
    assert got["response_rate"] == 1.0


# -- properties on generated data -------------------------------------------------------------

START = date(2024, 1, 1)
PROGRAMS = ("Adult IOP", "Adolescent IOP")
# Offsets from admission at the edges of weeks and windows, drawn often so ties and edges are common.
EDGES = (-30, -1, 0, 6, 7, 9, 10, 13, 14, 29, 30, 83, 84)
# builtins plus a site instrument that is better when higher, limited to one program
INSTRUMENTS = builtin_instruments() + (Instrument(
    "wellbeing", "Wellbeing", 0, 20, "better", 10, caseness=8, reliable_change=3, remission_below=12,
    response_drop=Fraction(1, 3), programs=("Adult IOP",)),)


@st.composite
def stores(draw):
    """Small random stores: dates close together so ties and window edges are common."""
    n_ep = draw(st.integers(0, 6))
    # one id for each assessment the loop below can draw: 6 episodes x 8
    ids = iter(draw(st.lists(st.integers(0, 99), min_size=48, max_size=48, unique=True)))
    enr, ass = [], []
    for e in range(n_ep):
        admit = START + timedelta(days=draw(st.integers(0, 40)))
        dis = draw(st.one_of(st.none(), st.integers(0, 60)))
        enr.append({"episode_id": f"e{e}", "patient_id": f"p{e}", "site": draw(st.sampled_from(["N", "S"])),
                    "program": draw(st.sampled_from(PROGRAMS)), "admit_date": admit,
                    "discharge_date": None if dis is None else admit + timedelta(days=dis), "extra": {}})
        for _ in range(draw(st.integers(0, 8))):
            ins = draw(st.sampled_from(["phq9", "phq9", "gad7", "bam_use", "uds", "wellbeing"]))
            top = {"phq9": 27, "gad7": 21, "bam_use": 12, "uds": 1, "wellbeing": 20}[ins]
            ass.append({"assessment_id": f"a{next(ids)}", "episode_id": f"e{e}",
                        "assessment_date": admit + timedelta(days=draw(
                            st.one_of(st.sampled_from(EDGES), st.integers(-30, 90)))),
                        "instrument": ins, "score": draw(st.integers(0, top))})
    as_of = START + timedelta(days=draw(st.integers(0, 120)))
    return enr, ass, as_of


def _frames(enr: list[dict], ass: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    enr_df = pd.DataFrame(enr, columns=["episode_id", "patient_id", "site", "program", "admit_date",
                                        "discharge_date", "extra"])
    ass_df = pd.DataFrame(ass, columns=["assessment_id", "episode_id", "assessment_date", "instrument", "score"])
    for frame, cols in ((enr_df, ("admit_date", "discharge_date")), (ass_df, ("assessment_date",))):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return enr_df, ass_df


def _share(num: int, den: int) -> float | None:
    return float(Fraction(num, den)) if den else None


def slow_measures(enr: list[dict], ass: list[dict], instruments, as_of: date) -> dict:
    """The definitions read literally, one episode and one window at a time (no filters)."""
    out = {}
    for ins in instruments:
        def in_range(x):
            return x >= ins.caseness if ins.higher_is == "worse" else x <= ins.caseness
        pairs, measured, due, completed, weeks = [], 0, 0, 0, {}
        for e in (e for e in enr if e["admit_date"] <= as_of):
            admit = e["admit_date"]
            mine = [a for a in ass if a["episode_id"] == e["episode_id"] and a["instrument"] == ins.name
                    and a["assessment_date"] <= as_of]
            measured += bool(mine)
            dates = {a["assessment_date"] for a in mine}
            if len(dates) >= 2:
                first = sorted((a for a in mine if a["assessment_date"] == min(dates)), key=lambda a: a["assessment_id"])
                last = sorted((a for a in mine if a["assessment_date"] == max(dates)), key=lambda a: a["assessment_id"])
                pairs.append((first[0]["score"], last[-1]["score"]))
            for a in mine:
                w = max((a["assessment_date"] - admit).days, 0) // 7 + 1
                if w <= 12:
                    weeks.setdefault(w, []).append(a["score"])
            if ins.programs and e["program"] not in ins.programs:
                continue
            dis = e["discharge_date"]
            end = dis if dis is not None and dis <= as_of else as_of
            for k in range((end - admit).days // ins.every_days + 1):
                lo = admit + timedelta(days=k * ins.every_days - (30 if k == 0 else 0))
                hi = admit + timedelta(days=(k + 1) * ins.every_days - 1)
                due += 1
                completed += any(lo <= a["assessment_date"] <= hi for a in mine)
        n = len(pairs)
        m = {"measured_episodes": measured, "pairs": n,
             "mean_baseline": _share(sum(b for b, _ in pairs), n),
             "mean_followup": _share(sum(f for _, f in pairs), n),
             "mean_change": _share(sum(f - b for b, f in pairs), n)}
        better = [(f - b) if ins.higher_is == "better" else (b - f) for b, f in pairs]
        rc = ins.reliable_change
        m["reliable_improvement_rate"] = None if rc is None else _share(sum(i >= rc for i in better), n)
        m["reliable_deterioration_rate"] = None if rc is None else _share(sum(-i >= rc for i in better), n)
        if ins.caseness is None:
            m["at_caseness"] = m["recovery_rate"] = m["reliable_recovery_rate"] = None
            cases = [(b, f, i) for (b, f), i in zip(pairs, better)
                     if ins.remission_below is not None and b >= ins.remission_below]
        else:
            cases = [(b, f, i) for (b, f), i in zip(pairs, better) if in_range(b)]
            m["at_caseness"] = len(cases)
            m["recovery_rate"] = _share(sum(not in_range(f) for _, f, _ in cases), len(cases))
            m["reliable_recovery_rate"] = None if rc is None else _share(
                sum(not in_range(f) and i >= rc for _, f, i in cases), len(cases))
        m["remission_rate"] = None if ins.remission_below is None else _share(
            sum(f < ins.remission_below for _, f, _ in cases), len(cases))
        m["response_rate"] = None if ins.response_drop is None or ins.caseness is None else _share(
            sum(Fraction(f) <= b * (1 - ins.response_drop) for b, f, _ in cases), len(cases))
        m["due_windows"], m["completed_windows"] = due, completed
        m["measurement_completion_rate"] = _share(completed, due)
        m["by_week"] = [{"week": w, "n": len(v), "mean": float(Fraction(sum(v), len(v)))}
                        for w, v in sorted(weeks.items())]
        out[ins.name] = m
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores())
def test_agrees_with_the_definitions_read_literally(data):
    enr, ass, as_of = data
    got = pandas_measures(*_frames(enr, ass), INSTRUMENTS, as_of=as_of)
    assert_figures_equal(got, slow_measures(enr, ass, INSTRUMENTS, as_of))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores())
def test_properties(data):
    enr, ass, as_of = data
    out = pandas_measures(*_frames(enr, ass), INSTRUMENTS, as_of=as_of)
    n_selected = sum(e["admit_date"] <= as_of for e in enr)
    for name, m in out.items():
        assert m["pairs"] <= m["measured_episodes"] <= n_selected
        assert 0 <= m["completed_windows"] <= m["due_windows"]
        for key in MEASURE_KEYS:
            if key.endswith("_rate") and m[key] is not None:
                assert 0.0 <= m[key] <= 1.0, (name, key)
        if m["reliable_recovery_rate"] is not None:
            assert m["reliable_recovery_rate"] <= m["recovery_rate"]
        if m["at_caseness"] is not None:
            assert m["at_caseness"] <= m["pairs"]
        weeks = [w["week"] for w in m["by_week"]]
        assert weeks == sorted(set(weeks)) and all(1 <= w <= 12 for w in weeks)
        if name == "uds":
            assert all(0.0 <= w["mean"] <= 1.0 for w in m["by_week"])
        if m["pairs"]:
            assert m["mean_change"] == pytest.approx(m["mean_followup"] - m["mean_baseline"], abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(stores(), st.sampled_from(["N", "S"]))
def test_site_filter_and_site_scope_agree(data, site):
    enr, ass, as_of = data
    frames = _frames(enr, ass)
    by_filter = pandas_measures(*frames, INSTRUMENTS, Filters(sites=(site,)), as_of=as_of)
    by_scope = pandas_measures(*frames, INSTRUMENTS, scope=Scope(allowed_sites=(site,)), as_of=as_of)
    assert by_filter == by_scope

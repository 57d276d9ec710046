"""The clinical outcome measures through a real store (embedded file and DuckLake), against
the hand-worked cases in tests/fixtures/measures/ and the `metrics` JSON."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixture_cases import case_paths, fill_store, load_case
from reference_cases import assert_figures_equal

from analytics.filters import EVERYTHING, Filters, Scope
from analytics.instruments import Instrument
from analytics.metrics.breakdowns import UnknownColumnError
from analytics.metrics.measures import MEASURE_KEYS
from analytics.metrics.summary import summary
from analytics.store.instruments import instruments_in_force

CASES = case_paths("measures")
ERRORS = {"UnknownColumnError": UnknownColumnError}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hand_worked_case_in_a_store(store, path):
    case = load_case(path)
    fill_store(store, case)
    filters = replace(case.filters, as_of=case.as_of or case.filters.as_of)
    if case.expected_error:
        with pytest.raises(ERRORS[case.expected_error]):
            summary(store, filters, case.scope)
        return
    got = summary(store, filters, case.scope).to_dict()["measures"]
    assert set(got) == {i.name for i in case.instruments}  # the store keeps them by name
    for figures in got.values():
        assert tuple(figures) == MEASURE_KEYS
    assert_figures_equal(got, dict(case.expected), case.name)


# -- against the pandas implementation on generated data -------------------------------------
CUT = date(2025, 6, 30)  # an as-of date the extra scores below sit on and straddle


def with_ties_and_cut_scores(assessments: pd.DataFrame, enrollments: pd.DataFrame) -> pd.DataFrame:
    """The generator's scores plus scores its data never has: for 150 (episode, instrument)
    groups, two more on the first date and two more on the last, with ids whose text order
    is not their number order ('t-10' < 't-9') and which sort before ('0...') or after ('z...')
    the generator's ('A...'), so the tie rules decide baseline and follow-up; and phq9 scores of
    episodes open over CUT on CUT (two, a tie) and on the day after, so the as-of cut falls on them."""
    rng = np.random.default_rng(13)
    top = {"phq9": 27, "gad7": 21, "bam_use": 12, "bam_risk": 24, "bam_protective": 24, "uds": 1}
    a = assessments.assign(assessment_date=pd.to_datetime(assessments["assessment_date"]))
    spans = a.groupby(["episode_id", "instrument"])["assessment_date"].agg(["min", "max"]).reset_index()
    spans = spans[spans["min"] < spans["max"]].sample(150, random_state=13)
    extra = []
    for g, row in enumerate(spans.itertuples(index=False)):
        for prefix, on in (("0", row.min), ("z", row.max)):
            for n in (9, 10):
                extra.append((f"{prefix}t{g}-{n}", row.episode_id, on.date(), row.instrument,
                              int(rng.integers(0, top[row.instrument] + 1))))
    e = enrollments.assign(admit_date=pd.to_datetime(enrollments["admit_date"]),
                           discharge_date=pd.to_datetime(enrollments["discharge_date"]))
    day_after = CUT + timedelta(days=1)
    open_over_cut = e[(e["admit_date"] <= pd.Timestamp(CUT) - pd.Timedelta(days=20))
                      & (e["discharge_date"].isna() | (e["discharge_date"] >= pd.Timestamp(day_after)))]
    for g, episode_id in enumerate(open_over_cut["episode_id"].head(80)):
        for n, on in ((9, CUT), (10, CUT), (11, day_after)):
            extra.append((f"zc{g}-{n}", episode_id, on, "phq9", int(rng.integers(0, 28))))
    added = pd.DataFrame(extra, columns=["assessment_id", "episode_id", "assessment_date", "instrument", "score"])
    out = pd.concat([assessments.astype({"assessment_date": str}), added.astype({"assessment_date": str})])
    return out.reset_index(drop=True)


@pytest.fixture(scope="module")
def generated_store(tmp_path_factory):
    """The generator's --full exports of 3,000 episodes (seed 3), their scores with the extra
    ones of with_ties_and_cut_scores, imported through the real importer."""
    from analytics.store import Store
    from tests.support import import_full_exports, write_full_exports

    tmp = tmp_path_factory.mktemp("measures_generated")
    data = write_full_exports(tmp / "data", episodes=3000, seed=3)
    scores = with_ties_and_cut_scores(pd.read_csv(data / "assessments.csv", dtype=str).astype({"score": int}),
                                      pd.read_csv(data / "enrollments.csv", dtype=str))
    scores.to_csv(data / "assessments.csv", index=False)
    store = Store(str(tmp / "store.duckdb"))
    result = import_full_exports(store, data, kinds=("enrollments", "sessions", "assessments"))
    assert [(f.kind, f.rejected) for f in result.files] == [
        ("enrollments", 0), ("sessions", 0), ("assessments", 0)]
    assert result.files[2].inserted == len(scores)
    yield store
    store.close()


@pytest.fixture(scope="module")
def generated_frames(generated_store):
    from benchmarks.pandas_measures import load_measure_frames

    return load_measure_frames(generated_store)


FILTER_SETS = {
    "whole": (Filters(), EVERYTHING),
    "site": (Filters(sites=("Northgate",)), EVERYTHING),
    "program": (Filters(programs=("Adolescent IOP",)), EVERYTHING),
    "payer": (Filters(extra=(("payer", "Medicaid"), ("payer", "Self-pay"))), EVERYTHING),
    "as_of": (Filters(as_of=CUT), EVERYTHING),
    "as_of_day_after": (Filters(as_of=CUT + timedelta(days=1)), EVERYTHING),
    "admitted": (Filters(admitted_from=date(2025, 1, 1), admitted_to=date(2025, 12, 31)), EVERYTHING),
    "scope": (Filters(programs=("Adult IOP",)), Scope(allowed_sites=("Riverside", "Pinewood"), role="site_lead")),
}


@pytest.mark.parametrize("name", list(FILTER_SETS))
def test_agrees_with_pandas_figure_by_figure(generated_store, generated_frames, name):
    from benchmarks.pandas_measures import pandas_measures

    filters, scope = FILTER_SETS[name]
    enrollments, sessions, assessments = generated_frames
    with generated_store.read() as cur:
        instruments = instruments_in_force(cur)
    expected = pandas_measures(enrollments, assessments, [_as_reference(i) for i in instruments], filters, scope,
                               sessions=sessions)
    got = summary(generated_store, filters, scope).to_dict()["measures"]
    assert got["phq9"]["pairs"] > 50, "too few pairs to compare anything"
    assert_figures_equal(got, expected, name)


def _as_reference(i):
    """An instrument in force as the pandas implementation's dataclass."""
    from benchmarks.pandas_measures import Instrument

    return Instrument(i.name, i.label, i.min_score, i.max_score, "better" if i.higher_is_better else "worse",
                      i.every_days, i.caseness, i.reliable_change, i.remission_below, i.response_drop, i.programs)


def test_the_extra_scores_are_in_play(generated_store, generated_frames):
    """Without the tie and cut scores the figures differ: the comparisons above can see them."""
    from benchmarks.pandas_measures import pandas_measures

    enrollments, sessions, assessments = generated_frames
    with generated_store.read() as cur:
        instruments = [_as_reference(i) for i in instruments_in_force(cur)]
    generated_only = assessments[assessments["assessment_id"].str.startswith("A")]
    assert len(generated_only) < len(assessments)
    for filters in (Filters(), Filters(as_of=CUT + timedelta(days=1))):
        got = summary(generated_store, filters).to_dict()["measures"]
        without = pandas_measures(enrollments, generated_only, instruments, filters, sessions=sessions)
        assert got["phq9"]["mean_baseline"] != without["phq9"]["mean_baseline"]
        assert got["phq9"]["mean_followup"] != without["phq9"]["mean_followup"]


# An instrument's programs list limits the windows due; other thresholds and intervals than
# the built-in ones move every window edge.
PROGRAM_LIMITED = (
    Instrument("phq9", "PHQ-9", 0, 27, False, 10, caseness=12, reliable_change=5, remission_below=7,
               response_drop=Fraction(1, 3), programs=("Adolescent IOP",)),
    Instrument("gad7", "GAD-7", 0, 21, False, 21, caseness=8, reliable_change=4, remission_below=5,
               programs=("Adult IOP", "No such program")),
    Instrument("bam_protective", "BAM protective", 0, 24, True, 30, caseness=6, reliable_change=3,
               remission_below=10, programs=("Adult IOP",)),
    Instrument("uds", "Drug screen", 0, 1, False, 7),
)


@pytest.mark.parametrize("name", ["whole", "site", "as_of", "scope"])
def test_instruments_limited_to_programs_agree_with_pandas(generated_store, generated_frames, name):
    from analytics.metrics.measures import measures
    from analytics.store import bind_filters
    from benchmarks.pandas_measures import pandas_measures

    filters, scope = FILTER_SETS[name]
    enrollments, sessions, assessments = generated_frames
    expected = pandas_measures(enrollments, assessments, [_as_reference(i) for i in PROGRAM_LIMITED], filters,
                               scope, sessions=sessions)
    with generated_store.read() as cur:
        bind_filters(cur, filters, scope)
        got = {k: m.to_dict() for k, m in measures(cur, PROGRAM_LIMITED, with_patients=False).items()}
    assert_figures_equal(got, expected, name)
    with generated_store.read() as cur:
        bind_filters(cur, filters, scope)
        everywhere = measures(cur, tuple(replace(i, programs=()) for i in PROGRAM_LIMITED), with_patients=False)
    assert got["phq9"]["due_windows"] < everywhere["phq9"].due_windows  # the list limits the windows due
    assert got["phq9"]["completed_windows"] < everywhere["phq9"].completed_windows
    assert got["phq9"]["pairs"] == everywhere["phq9"].pairs  # and nothing else


SMALL_GROUPS = {
    "ten_days_at_one_site": Filters(sites=("Northgate",), admitted_from=date(2025, 3, 1),
                                    admitted_to=date(2025, 3, 10)),
    "a_month_of_one_program": Filters(programs=("Adolescent IOP",), admitted_from=date(2025, 3, 1),
                                      admitted_to=date(2025, 3, 31)),
    "a_quarter": Filters(admitted_from=date(2025, 1, 1), admitted_to=date(2025, 3, 31)),
}


def test_suppressed_measures_agree_with_pandas_counts(generated_store, generated_frames):
    """What an analyst sees of the measures: the figures the pandas implementation gives, with
    the ones whose counts or patients (counted by pandas) are small read '<11'."""
    from analytics.metrics.measures import (
        COMPLETION_SPEC,
        PAIR_SPEC,
        Measures,
        measures,
    )
    from analytics.privacy.suppression import is_hidden, suppress_kpis, suppression_of
    from analytics.store import bind_filters
    from benchmarks.pandas_measures import pandas_measure_counts, pandas_measures

    enrollments, sessions, assessments = generated_frames
    with generated_store.read() as cur:
        instruments = instruments_in_force(cur)
    reference = [_as_reference(i) for i in instruments]
    analyst = Scope(suppressed_only=True, patient_level=False, role="analyst")
    shown_fields = [f for f in Measures.__dataclass_fields__ if f not in ("instrument", "by_week")]
    hidden_seen, shown_seen = 0, 0
    for name, filters in SMALL_GROUPS.items():
        figures = pandas_measures(enrollments, assessments, reference, filters, analyst, sessions=sessions)
        counts = pandas_measure_counts(enrollments, assessments, reference, filters, analyst, sessions=sessions)
        with generated_store.read() as cur:
            bind_filters(cur, filters, analyst)
            got = suppression_of(measures).apply(measures(cur), threshold=11)
        for ins in instruments:
            values = {k: figures[ins.name].get(k, counts[ins.name].get(k)) for k in shown_fields}
            by_pairs, by_windows = suppress_kpis(values, PAIR_SPEC, 11), suppress_kpis(values, COMPLETION_SPEC, 11)
            expected = {k: by_pairs[k] if is_hidden(by_pairs[k]) else by_windows[k] for k in shown_fields}
            shown = {k: getattr(got[ins.name], k) for k in shown_fields}
            assert {k for k, v in shown.items() if is_hidden(v)} == {k for k, v in expected.items() if is_hidden(v)}, \
                (name, ins.name)
            assert_figures_equal({k: v for k, v in shown.items() if not is_hidden(v)},
                                 {k: v for k, v in expected.items() if not is_hidden(v)}, f"{name}.{ins.name}")
            assert got[ins.name].by_week == ()  # weekly figures leave through scores_by_week only
            hidden_seen += sum(is_hidden(v) for v in shown.values())
            shown_seen += sum(v is not None and not is_hidden(v) for v in shown.values())
    assert hidden_seen and shown_seen  # both sides of the rule were exercised


# -- organisation mode ---------------------------------------------------------------------
def _rescored(assessments_csv: Path, out: Path) -> int:
    """A later assessments export: every 5th phq9 and gad7 score corrected to the instrument's
    minimum (a new version of the row, same id); returns the rows changed."""
    frame = pd.read_csv(assessments_csv, dtype=str)
    changed = frame["instrument"].isin(["phq9", "gad7"]) & (frame.index % 5 == 0) & (frame["score"] != "0")
    frame.loc[changed, "score"] = "0"
    frame.to_csv(out, index=False)
    return int(changed.sum())


@pytest.mark.lake
@pytest.mark.slow
def test_measures_are_identical_on_ducklake_and_the_latest_scores_win(lake_target, tmp_path):
    """The --full exports and then a later assessments export that corrects some scores, through
    the real importer, into an embedded file and a DuckLake: the same measures, whole and
    filtered, equal to the pandas implementation on the corrected scores."""
    from analytics.ingest.importer import import_files
    from analytics.store import Store
    from benchmarks.pandas_measures import load_measure_frames, pandas_measures
    from tests.support import import_full_exports, write_full_exports

    exports = write_full_exports(tmp_path / "exports", episodes=600, seed=5)
    later = tmp_path / "assessments_later.csv"
    changed = _rescored(exports / "assessments.csv", later)
    assert changed > 100
    stores = {"embedded": Store(str(tmp_path / "org.duckdb")), "lake": Store(lake_target)}
    try:
        for store in stores.values():
            first = import_full_exports(store, exports, kinds=("enrollments", "sessions", "assessments"))
            assert [f.rejected for f in first.files] == [0, 0, 0]
            second = import_files(store, [later])
            assert (second.files[0].kind, second.files[0].updated) == ("assessments", changed)
            with store.read() as cur:  # the corrected versions are the ones read
                assert cur.execute("SELECT sum(score) FROM main.assessments").fetchone()[0] == \
                    pd.read_csv(later)["score"].sum()
        enrollments, sessions, assessments = load_measure_frames(stores["embedded"])
        with stores["embedded"].read() as cur:
            instruments = [_as_reference(i) for i in instruments_in_force(cur)]
        for filters in (Filters(), Filters(sites=("Northgate",)), Filters(as_of=CUT, programs=("Adult IOP",))):
            got = {name: summary(store, filters).to_dict()["measures"] for name, store in stores.items()}
            assert got["embedded"] == got["lake"], filters
            assert_figures_equal(got["lake"], pandas_measures(enrollments, assessments, instruments, filters,
                                                             sessions=sessions), str(filters))
            assert got["lake"]["phq9"]["pairs"] > 20
    finally:
        for store in stores.values():
            store.close()

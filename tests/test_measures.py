"""The clinical outcome measures through a real store (embedded file and DuckLake), against
the hand-worked cases in tests/fixtures/measures/ and the `metrics` JSON."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from fixture_cases import case_paths, fill_store, load_case
from test_reference_measures import assert_figures_equal

from analytics.filters import EVERYTHING, Filters, Scope
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
@pytest.fixture(scope="module")
def generated_store(tmp_path_factory):
    """3,000 generated episodes (seed 3) imported with the importer, their scores inserted."""
    from conftest import generate_full, insert_assessments_csv

    from analytics.ingest.importer import import_files
    from analytics.store import Store

    tmp = tmp_path_factory.mktemp("measures_generated")
    data = generate_full(tmp / "data", 3000, 3)
    store = Store(str(tmp / "store.duckdb"))
    import_files(store, [data / "enrollments.csv", data / "sessions.csv"])
    insert_assessments_csv(store, data / "assessments.csv")
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
    "as_of": (Filters(as_of=date(2025, 6, 30)), EVERYTHING),
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

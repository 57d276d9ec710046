"""Access and early engagement in SQL (analytics/metrics/intake.py and the macros it reads).

- every hand-worked case of tests/fixtures/intake/ loaded into a real store, embedded and
  DuckLake, through summary() and the metrics command's JSON;
- the independent pandas implementation (benchmarks/pandas_intake.py) figure by figure
  on generated data, under many filter sets, and on random small stores (the calendar
  words that hold distinct days are crossed at random places);
- the Access page's tables add up to the headline figures; the path from first contact
  is checked against a separate pandas count;
- small-cell suppression of the summary and of the path.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixture_cases import case_filters, case_paths, import_case, load_case
from hypothesis import HealthCheck, given, settings
from test_reference_intake import _frames, stores
from reference_cases import ERRORS, assert_figures_equal

from analytics.filters import Filters, Scope
from analytics.metrics import intake
from analytics.metrics.breakdowns import UnknownColumnError, check_filter_columns
from analytics.metrics.summary import summary
from analytics.store import summaries
from analytics.privacy.suppression import is_hidden, suppress_table, suppression_of
from analytics.store import Store, bind_filters
from benchmarks.pandas_intake import ACCESS_KEYS, OUTCOMES, load_access_frames, pandas_access
from benchmarks.pandas_selection import day_number, day_numbers
from tests.support import import_full_exports, run_analytics, write_full_exports

CASES = case_paths("intake")


# -- the hand-worked cases, on both backends --------------------------------------------------
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_hand_worked_case_in_a_store(store, path, tmp_path):
    """Each case imported through the real importer (every row accepted), then summarised."""
    case = load_case(path)
    result = import_case(store, case, tmp_path / "exports")
    assert [f.rejected for f in result.files] == [0] * len(result.files), case.name
    assert {f.kind: f.inserted for f in result.files} == {t: len(r) for t, r in case.rows.items() if r}
    if case.expected_error:
        with pytest.raises(ERRORS[case.expected_error]):
            summary(store, case_filters(case), case.scope)
        return
    got = summary(store, case_filters(case), case.scope).to_dict()["access"]
    assert tuple(got) == ACCESS_KEYS == intake.ACCESS_KEYS
    assert tuple(got["continuation"]) == ("day_1", "day_2", "day_3", "day_4")
    assert tuple(got["referral_outcomes"]) == OUTCOMES == intake.OUTCOMES
    assert_figures_equal(got, dict(case.expected), case.name)


def test_the_metrics_command_prints_access_and_keeps_every_other_key(tmp_path):
    case = load_case(next(p for p in CASES if p.stem == "referral_outcomes_pending"))
    store = Store(str(tmp_path / "s.duckdb"))
    import_case(store, case, tmp_path / "exports")
    store.close()
    done = run_analytics("metrics", "--db", str(tmp_path / "s.duckdb"), "--as-of", str(case.as_of),
                         "--format", "json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert list(printed)[-1] == "access" and list(printed)[:2] == ["as_of", "episodes"]
    assert_figures_equal(printed["access"], dict(case.expected))
    text = run_analytics("metrics", "--db", str(tmp_path / "s.duckdb"), "--as-of", str(case.as_of),
                         "--format", "text")
    assert "access.referral_outcomes.pending: 2" in text.stdout.splitlines()


def test_a_filter_on_a_column_only_referrals_hold_is_valid(store, tmp_path):
    case = load_case(next(p for p in CASES if p.stem == "column_held_by_referrals_only"))
    import_case(store, case, tmp_path / "exports")
    with store.read() as cur:
        check_filter_columns(cur, Filters(extra=(("source", "court"),)))  # referrals only: accepted
        check_filter_columns(cur, Filters(extra=(("track", "day"),)))  # enrollments only: accepted
        with pytest.raises(UnknownColumnError, match="payer, source, track"):
            check_filter_columns(cur, Filters(extra=(("colour", "red"),)))
        # a column no enrollment holds selects no episode, even with an empty value
        bind_filters(cur, Filters(extra=(("source", ""),), as_of=case.as_of))
        assert cur.execute("SELECT count(*) FROM main.selected_episodes()").fetchone()[0] == 0
        assert cur.execute("SELECT count(*) FROM main.selected_referrals()").fetchone()[0] == 1  # r4: no source


# -- against pandas on generated data ----------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Store:
    """600 generated episodes with referrals and first contacts (--full), imported through
    the real importer."""
    out = write_full_exports(tmp_path_factory.mktemp("intake"), episodes=600, seed=5)
    import_full_exports(out / "store.duckdb", out)
    store = Store(str(out / "store.duckdb"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def generated_frames(generated):
    return load_access_frames(generated)


SELECTIONS = {
    "whole": (Filters(), Scope()),
    "site": (Filters(sites=("Riverside",)), Scope()),  # records no first contact on its enrollments
    "two_sites": (Filters(sites=("Northgate", "Hillcrest")), Scope()),
    "site_lead": (Filters(), Scope(allowed_sites=("Hillcrest",), role="site_lead")),
    "site_lead_naming_another_site": (Filters(sites=("Northgate",)), Scope(allowed_sites=("Hillcrest",))),
    "program": (Filters(programs=("Adolescent IOP",)), Scope()),
    "admitted_range": (Filters(admitted_from=date(2025, 6, 1), admitted_to=date(2026, 3, 31)), Scope()),
    "as_of": (Filters(as_of=date(2025, 12, 15)), Scope()),
    "early_as_of": (Filters(as_of=date(2025, 1, 20)), Scope()),
    "column_on_both": (Filters(extra=(("referral_source", "Self"), ("referral_source", "Family"))), Scope()),
    "column_on_enrollments_only": (Filters(extra=(("payer", "Medicaid"),)), Scope()),
    "column_and_site": (Filters(sites=("Lakeview",), extra=(("referral_source", "Criminal justice"),)), Scope()),
    "nothing": (Filters(sites=("Nowhere",)), Scope()),
}


@pytest.mark.parametrize("name", list(SELECTIONS))
def test_sql_agrees_with_pandas_on_generated_data(generated, generated_frames, name):
    filters, scope = SELECTIONS[name]
    got = summary(generated, filters, scope).to_dict()["access"]
    expected = pandas_access(*generated_frames, filters, scope)
    assert_figures_equal(got, expected, name)
    if name == "whole":  # a real workload: every figure is there
        assert got["wait_measured"] > 300 and got["referrals"] > 600
        assert all(got["referral_outcomes"][o] > 0 for o in OUTCOMES)
        assert 0 < got["continuation"]["day_4"] < got["continuation"]["day_1"] <= 1


def test_the_site_lead_sees_what_a_director_sees_with_the_site_filter(generated):
    lead = summary(generated, Filters(), Scope(allowed_sites=("Hillcrest",))).to_dict()["access"]
    director = summary(generated, Filters(sites=("Hillcrest",))).to_dict()["access"]
    everything = summary(generated, Filters()).to_dict()["access"]
    assert lead == director and lead != everything


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stores())
def test_sql_agrees_with_pandas_on_random_small_stores(data):
    enr, ses, ref, as_of = data
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(str(Path(tmp) / "r.duckdb"))
        try:
            _fill_rows(store, enr, ses, ref)
            got = summary(store, Filters(as_of=as_of)).to_dict()["access"]
            expected = pandas_access(*_frames(enr, ses, ref), as_of=as_of)
            assert_figures_equal(got, expected)
            for site in ("N", "S"):
                got = summary(store, Filters(as_of=as_of), Scope(allowed_sites=(site,))).to_dict()["access"]
                expected = pandas_access(*_frames(enr, ses, ref), scope=Scope(allowed_sites=(site,)), as_of=as_of)
                assert_figures_equal(got, expected, site)
        finally:
            store.close()


def _fill_rows(store: Store, enr: list[dict], ses: list[dict], ref: list[dict]) -> None:
    with store.write() as cur:
        for i, e in enumerate(enr):
            cur.execute("INSERT INTO store.enrollments (episode_id, patient_id, site, program, admit_date, "
                        "first_contact_date, extra, batch_id, source_line) VALUES ($e, $p, $s, $g, $a, $f, "
                        "MAP([]::VARCHAR[], []::VARCHAR[]), 0, $l)",
                        {"e": e["episode_id"], "p": e["patient_id"], "s": e["site"], "g": e["program"],
                         "a": e["admit_date"], "f": e["first_contact_date"], "l": i + 2})
        for i, s in enumerate(ses):
            cur.execute("INSERT INTO store.sessions VALUES ($i, $e, $d, 'group', 'c', 180, 0, $st, 0, $l)",
                        {"i": s["session_id"], "e": s["episode_id"], "d": s["session_date"], "st": s["status"],
                         "l": i + 2})
        for i, r in enumerate(ref):
            cur.execute("INSERT INTO store.referrals VALUES ($i, $p, $s, $g, $f, $a, $o, $e, "
                        "MAP([]::VARCHAR[], []::VARCHAR[]), 0, $l)",
                        {"i": r["referral_id"], "p": r["patient_id"], "s": r["site"], "g": r["program"],
                         "f": r["first_contact_date"], "a": r["intake_assessment_date"], "o": r["outcome"],
                         "e": r["episode_id"], "l": i + 2})
        summaries.rebuild(cur)  # rows written straight in, not by a batch of the importer


# -- the Access page's tables -------------------------------------------------------------------
def _read(store: Store, fn, *args, filters: Filters = Filters()):
    with store.read() as cur:
        bind_filters(cur, filters)
        return fn(cur, *args)


@pytest.mark.parametrize("name", ["whole", "site", "as_of", "column_on_both"])
def test_the_tables_add_up_to_the_headline(generated, name):
    filters, _ = SELECTIONS[name]
    head = _read(generated, intake.access_summary, filters=filters)
    outcomes = _read(generated, intake.outcomes_by_month, filters=filters)
    assert outcomes[list(OUTCOMES)].sum().to_dict() == {o: getattr(head, o) for o in OUTCOMES}
    assert (outcomes[list(OUTCOMES)].sum(axis=1) == outcomes["referrals"]).all()
    bins = _read(generated, intake.wait_distribution, filters=filters)
    assert bins["episodes"].sum() == head.wait_measured
    months = _read(generated, intake.waits_by_month, filters=filters)
    assert months["episodes"].sum() == head.wait_measured
    for dimension in ("site", "program", "cohort"):
        table = _read(generated, intake.continuation_by, dimension, filters=filters)
        assert table["eligible"].sum() == head.continuation_eligible
        assert [table[f"continued_{k}"].sum() for k in (1, 2, 3, 4)] == \
            [getattr(head, f"continued_{k}") for k in (1, 2, 3, 4)]
    iet = _read(generated, intake.iet_by_month, filters=filters)
    assert (iet["eligible"].sum(), iet["initiated"].sum(), iet["engaged"].sum()) == \
        (head.iet_eligible, head.initiated, head.engaged)


def _pandas_path(frames, filters: Filters, scope: Scope) -> dict[str, int]:
    """The path from first contact to day 4, counted from the definition with pandas."""
    from benchmarks.pandas_intake import _selected_referrals
    from benchmarks.pandas_selection import resolve_as_of

    enr, ses, ref = frames
    as_of = resolve_as_of(None, filters, enr, ses)
    chosen = _selected_referrals(ref, filters, scope, as_of)
    chosen = chosen[day_numbers(chosen["first_contact_date"]) <= as_of - 28]
    admit = dict(zip(enr["episode_id"], day_numbers(enr["admit_date"])))
    attended = ses[(ses["status"] == "attended")].assign(day=day_numbers(ses.loc[ses["status"] == "attended",
                                                                                "session_date"]))
    days_of = attended.groupby("episode_id")["day"].apply(lambda d: sorted(set(d)))
    out = dict.fromkeys(("contacts", "assessed", "admitted", "day_1", "day_2", "day_3", "day_4"), 0)
    for _, r in chosen.iterrows():
        out["contacts"] += 1
        intake_day = day_numbers(pd.Series([r["intake_assessment_date"]]))[0]
        if not intake_day <= as_of:
            continue
        out["assessed"] += 1
        start = admit.get(r["episode_id"], np.nan) if r["outcome"] == "admitted" else np.nan
        if not start <= as_of:
            continue
        out["admitted"] += 1
        days = [d for d in days_of.get(r["episode_id"], []) if start <= d <= min(start + 27, as_of)]
        for k in (1, 2, 3, 4):
            out[f"day_{k}"] += len(days) >= k
    return out


@pytest.mark.parametrize("name", ["whole", "site_lead", "admitted_range", "as_of", "column_and_site"])
def test_the_path_from_first_contact_is_nested_and_matches_pandas(generated, generated_frames, name):
    filters, scope = SELECTIONS[name]
    with generated.read() as cur:
        bind_filters(cur, filters, scope)
        wide = intake.contact_funnel(cur)
    counts = [int(wide[c].iloc[0]) for c, _ in intake.FUNNEL_STEPS]
    assert counts == sorted(counts, reverse=True)  # no step exceeds the one before
    assert dict(zip((c for c, _ in intake.FUNNEL_STEPS), counts)) == _pandas_path(generated_frames, filters, scope)
    steps = intake.funnel_steps(wide)
    assert steps["drop"].iloc[1:].tolist() == [a - b for a, b in zip(counts, counts[1:])]
    if name == "whole":
        assert counts[0] > 400 and counts[-1] > 100
        assert steps["share_of_contacts"].iloc[-1] == pytest.approx(counts[-1] / counts[0])


def test_a_referral_admitted_at_another_site_is_followed_there(store):
    """The path belongs to the site that received the request; the episode may be elsewhere."""
    from conftest import add_enrollments, add_referrals, add_sessions

    add_enrollments(store, [("e1", "p1", "South", "Adult IOP", "2024-03-05", None, None)])
    add_sessions(store, [(f"s{k}", "e1", f"2024-03-{5 + k:02d}", "group", "c", 180, 180, "attended")
                         for k in range(4)])
    add_referrals(store, [("r1", "p1", "North", "Adult IOP", "2024-03-01", "2024-03-02", "admitted", "e1")])
    with store.read() as cur:
        bind_filters(cur, Filters(as_of=date(2024, 6, 30)), Scope(allowed_sites=("North",)))
        wide = intake.contact_funnel(cur)
        assert cur.execute("SELECT count(*) FROM main.intake_episodes()").fetchone()[0] == 0  # not North's
    assert [int(wide[c].iloc[0]) for c, _ in intake.FUNNEL_STEPS] == [1, 1, 1, 1, 1, 1, 1]


# -- suppression ----------------------------------------------------------------------------------
def test_the_path_hides_a_small_drop_and_what_would_give_it_away():
    wide = pd.DataFrame([{"contacts": 200, "assessed": 195, "admitted": 120, "day_1": 118, "day_2": 100,
                          "day_3": 90, "day_4": 80, "patients": 190}])
    for (before, _), (step, _) in zip(intake.FUNNEL_STEPS, intake.FUNNEL_STEPS[1:]):
        wide[f"drop_{step}"] = wide[before] - wide[step]
    shown = suppress_table(wide, suppression_of(intake.contact_funnel).spec, 11).iloc[0]
    # 5 stopped before an intake assessment, 2 after admission: both hidden, and in each step
    # relation (before = step + drop) never exactly one figure is hidden
    assert shown["drop_assessed"] == "<11" and shown["drop_day_1"] == "<11"
    steps = [c for c, _ in intake.FUNNEL_STEPS]
    for before, step in zip(steps, steps[1:]):
        assert sum(is_hidden(shown[c]) for c in (before, step, f"drop_{step}")) != 1, step
    assert shown["contacts"] == 200 and shown["day_4"] == 80
    table = intake.funnel_steps(pd.DataFrame([shown]))
    hidden_steps = table.loc[table["referrals"].map(is_hidden), "share_of_contacts"]
    assert hidden_steps.map(is_hidden).all()  # a share would give a hidden count away


def test_the_summary_hides_small_counts_and_the_rates_on_them(generated):
    with generated.read() as cur:
        bind_filters(cur, Filters(sites=("Pinewood",)))  # the tiny site
        real = intake.access_summary(cur)
    assert 0 < real.continuation_eligible < 11
    shown = suppression_of(intake.access_summary).apply(real, threshold=11)
    for field in ("continuation_eligible", "continuation_day_4", "iet_eligible", "initiation_rate"):
        assert shown.__getattribute__(field) == "<11", field
    for field, value in vars(shown).items():
        if isinstance(value, int) and not field.endswith("patients"):
            assert value == 0 or value >= 11, field
    # patients are counted only when asked for (the metrics command does not)
    with generated.read() as cur:
        bind_filters(cur, Filters())
        assert intake.access_summary(cur, patients=False).referral_patients == 0
        assert intake.access_summary(cur).referral_patients > 0

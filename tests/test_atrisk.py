"""At-risk list on the hand-made store (tests/qi_fixture.py) plus a few sessions per test."""
from __future__ import annotations

import json
from datetime import date

import pytest

from analytics.qi.atrisk import at_risk_list, bucket
from analytics.filters import Filters, Scope
from tests import qi_fixture
from tests.conftest import add_enrollments, add_sessions

FILTERS = Filters(as_of=qi_fixture.AS_OF)


@pytest.fixture
def risk_store(store):
    qi_fixture.fill(store)
    # e4 (admitted 20 Feb): attended 2 Mar, then two no-shows.
    add_sessions(store, [
        ("s10", "e4", "2026-03-02", "group", "Cy", 60, 60, "attended"),
        ("s11", "e4", "2026-03-09", "group", "Cy", 180, 0, "no_show"),
        ("s12", "e4", "2026-03-16", "group", "Cy", 180, 0, "no_show"),
    ])
    return store


def test_rules_reasons_and_buckets(risk_store):
    rows = at_risk_list(risk_store, FILTERS, Scope()).set_index("episode_id")
    # e1 and e2 were discharged by as_of: never listed.
    assert sorted(rows.index) == ["e3", "e4"]
    e4 = rows.loc["e4"]
    assert e4["patient_id"] == "p4"
    # last 14 days = 7..20 Mar: s11, s12 expected, none attended; 2 no-shows in a row;
    # complete weeks 3 (6-12 Mar) and 4 (13-19 Mar) have 0 minutes, target 9 h.
    assert e4["reasons"] == (
        "missed the last 2 expected sessions in a row; "
        "attended 0 of 2 expected sessions in the last 14 days; "
        "below the 9 h weekly dose target in each of the last 2 complete weeks"
    )
    assert e4["last_attended"] == date(2026, 3, 2)
    assert e4["days_since_attended"] == 18 and e4["bucket"] == ">14"
    # e3: s9 attended 16 Mar (1 of 1 in 14 days, no run), but weeks 9 (7-13 Mar, 0 min)
    # and 10 (14-20 Mar, 180 min) are below 9 h.
    e3 = rows.loc["e3"]
    assert e3["reasons"] == "below the 9 h weekly dose target in each of the last 2 complete weeks"
    assert e3["days_since_attended"] == 4 and e3["bucket"] == "1-7"
    # sorted by days since attendance, longest first
    assert list(rows.index) == ["e4", "e3"]


def test_patient_cancellation_ends_a_run_of_no_shows(risk_store):
    add_sessions(risk_store, [("s13", "e4", "2026-03-18", "group", "Cy", 180, 0, "patient_cancelled")])
    rows = at_risk_list(risk_store, FILTERS, Scope()).set_index("episode_id")
    assert "missed the last" not in rows.loc["e4", "reasons"]
    # still fewer than half attended in 14 days: 0 of 3
    assert "attended 0 of 3 expected sessions" in rows.loc["e4", "reasons"]


def test_never_attended_bucket(store):
    qi_fixture.fill(store)  # e4 has no sessions at all: only the dose rule applies
    rows = at_risk_list(store, FILTERS, Scope()).set_index("episode_id")
    assert rows.loc["e4", "bucket"] == "never attended"
    assert rows.loc["e4", "last_attended"] is None or str(rows.loc["e4", "last_attended"]) in ("NaT", "None")


def test_requires_patient_level_and_audits_views(risk_store):
    with pytest.raises(PermissionError):
        at_risk_list(risk_store, FILTERS, Scope(patient_level=False, actor="analyst@x.org"))
    at_risk_list(risk_store, FILTERS, Scope(actor="dir@x.org"))
    with risk_store.read() as cur:
        rows = cur.execute("SELECT actor, action, detail FROM main.audit_log").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("dir@x.org", "view_at_risk")]
    detail = json.loads(rows[0][2])
    assert detail["rows"] == 2 and "p4" not in rows[0][2]


def test_site_scope_applies(risk_store):
    rows = at_risk_list(risk_store, FILTERS, Scope(allowed_sites=("North",)))
    assert rows.empty


def test_bucket_edges():
    assert [bucket(d) for d in (0, 7, 8, 14, 15, None)] == ["1-7", "1-7", "8-14", "8-14", ">14", "never attended"]


def test_admitted_a_week_ago_with_no_attended_session(store):
    """as_of 2026-03-20: admitted 03-13 (7 days) without an attended session is listed; admitted
    03-14 (6 days) is not yet; a no-show alone is no attended session; one attended session ends it."""
    qi_fixture.fill(store)
    add_enrollments(store, [
        ("n7", "p7", "North", qi_fixture.PROGRAM, "2026-03-13", None, None),
        ("n6", "p6", "North", qi_fixture.PROGRAM, "2026-03-14", None, None),
        ("n8", "p8", "North", qi_fixture.PROGRAM, "2026-03-12", None, None),
        ("n9", "p9", "North", qi_fixture.PROGRAM, "2026-03-12", None, None),
    ])
    add_sessions(store, [
        ("n8-1", "n8", "2026-03-12", "group", "Al", 180, 0, "patient_cancelled"),
        ("n9-1", "n9", "2026-03-12", "group", "Al", 180, 180, "attended"),
    ])
    rows = at_risk_list(store, FILTERS, Scope()).set_index("episode_id")
    assert rows.loc["n7", "reasons"] == "admitted 7 days ago with no attended session"
    assert rows.loc["n7", "bucket"] == "never attended"
    assert rows.loc["n8", "reasons"] == ("attended 0 of 1 expected sessions in the last 14 days; "
                                         "admitted 8 days ago with no attended session")
    assert "n6" not in rows.index and "n9" not in rows.index
    # e4 (admitted 02-20, no session) meets the rule too, beside the dose rule
    assert rows.loc["e4", "reasons"].endswith("; admitted 28 days ago with no attended session")


# -- the two score rules ------------------------------------------------------------------
def add_scores(store, rows) -> None:
    """Insert assessments: (assessment_id, episode_id, assessment_date, instrument, score)."""
    with store.write() as cur:
        cur.executemany(
            "INSERT INTO store.assessments VALUES ($id, $ep, $d::DATE, $ins, $score, 0, $line)",
            [{"id": i, "ep": e, "d": d, "ins": ins, "score": sc, "line": n + 2} for n, (i, e, d, ins, sc) in enumerate(rows)],
        )


@pytest.fixture
def score_store(store):
    """Episodes admitted 10 Mar 2026 (as_of 20 Mar: one complete week, so no dose rule), each
    attending on 11 and 18 Mar (no missed run, all attended in 14 days): only the score rules
    can list them."""
    from tests.conftest import add_enrollments

    episodes = [f"a{n}" for n in range(1, 10)]
    add_enrollments(store, [(e, f"p-{e}", "North", "Adult IOP", "2026-03-10", None, None) for e in episodes]
                    + [("a0", "p-a0", "North", "Adult IOP", "2026-03-10", "2026-03-19", "completed")])
    add_sessions(store, [(f"s-{e}-{d}", e, f"2026-03-{d}", "group", "Cy", 180, 180, "attended")
                         for e in episodes + ["a0"] for d in (11, 18)])
    add_scores(store, [
        # a1: PHQ-9 8 (intake, 18 days before admission) -> 14: worse by 6, the reliable change: listed
        ("q1", "a1", "2026-02-20", "phq9", 8), ("q2", "a1", "2026-03-12", "phq9", 14),
        # a2: PHQ-9 8 -> 13: worse by 5 only
        ("q3", "a2", "2026-03-10", "phq9", 8), ("q4", "a2", "2026-03-17", "phq9", 13),
        # a3: GAD-7 10 -> 14 (reliable change 4) and PHQ-9 10 -> 16, both named, GAD-7 first
        ("q5", "a3", "2026-03-10", "gad7", 10), ("q6", "a3", "2026-03-17", "gad7", 14),
        ("q7", "a3", "2026-03-10", "phq9", 10), ("q8", "a3", "2026-03-17", "phq9", 16),
        # a4: screens 0, 0, then 1: listed
        ("u1", "a4", "2026-03-10", "uds", 0), ("u2", "a4", "2026-03-12", "uds", 0), ("u3", "a4", "2026-03-17", "uds", 1),
        # a5: 0, 1, 1: the screen before the latest was positive
        ("u4", "a5", "2026-03-10", "uds", 0), ("u5", "a5", "2026-03-12", "uds", 1), ("u6", "a5", "2026-03-17", "uds", 1),
        # a6: 0 then 1: only one negative before it
        ("u7", "a6", "2026-03-15", "uds", 0), ("u8", "a6", "2026-03-17", "uds", 1),
        # a7: two screens on 17 Mar; by id as text "u9" is later than "u10": 0, 0, 0 (u10), 1 (u9) -> listed
        ("u11", "a7", "2026-03-10", "uds", 0), ("u12", "a7", "2026-03-12", "uds", 0),
        ("u9", "a7", "2026-03-17", "uds", 1), ("u10", "a7", "2026-03-17", "uds", 0),
        # a8: PHQ-9 8 and 16 on one day: not a pair, so no change
        ("q9", "a8", "2026-03-12", "phq9", 8), ("q10", "a8", "2026-03-12", "phq9", 16),
        # a9: a score after as_of does not count: 8 -> 9 by 20 Mar (16 on 25 Mar is not known yet)
        ("q11", "a9", "2026-03-10", "phq9", 8), ("q12", "a9", "2026-03-17", "phq9", 9),
        ("q13", "a9", "2026-03-25", "phq9", 16),
        # a0: worse by 10 but discharged by as_of: never listed
        ("q14", "a0", "2026-03-10", "phq9", 5), ("q15", "a0", "2026-03-17", "phq9", 15),
    ])
    return store


def test_reliable_deterioration_and_positive_screen_rules(score_store):
    rows = at_risk_list(score_store, FILTERS, Scope()).set_index("episode_id")
    assert sorted(rows.index) == ["a1", "a3", "a4", "a7"]
    assert rows.loc["a1", "reasons"] == "reliable deterioration on PHQ-9: 8 at baseline, 14 latest (reliable change 6)"
    assert rows.loc["a3", "reasons"] == (
        "reliable deterioration on GAD-7: 10 at baseline, 14 latest (reliable change 4); "
        "reliable deterioration on PHQ-9: 10 at baseline, 16 latest (reliable change 6)")
    assert rows.loc["a4", "reasons"] == "positive drug screen after two negative ones"
    assert rows.loc["a7", "reasons"] == "positive drug screen after two negative ones"
    assert rows.loc["a1", "days_since_attended"] == 2 and rows.loc["a1", "bucket"] == "1-7"


def test_score_rules_follow_the_site_scope(score_store):
    assert at_risk_list(score_store, FILTERS, Scope(allowed_sites=("South",))).empty

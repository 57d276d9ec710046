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

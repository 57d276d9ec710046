"""Interventions: stored with an audit row, listed through filters and site scope."""
from __future__ import annotations

import json
from datetime import date

import pytest

from analytics.filters import Filters, Scope
from analytics.qi.interventions import list_interventions, record_intervention
from analytics.store import bind_filters
from tests.conftest import add_enrollments


@pytest.fixture
def store_with_data(store):
    add_enrollments(store, [
        ("e1", "p1", "North", "Adult IOP", "2026-01-05", None, None),
        ("e2", "p2", "South", "Adult IOP", "2026-01-05", None, None),
    ])
    return store


def _listed(store, filters=Filters(), scope=Scope()):
    with store.read() as cur:
        bind_filters(cur, filters, scope)
        return list_interventions(cur)


def test_record_and_list_with_audit_row(store_with_data):
    store = store_with_data
    new_id = record_intervention(store, date(2026, 1, 12), "Text reminders", "SMS the day before",
                                 None, None, "ana@example.org")
    assert new_id == 1
    listed = _listed(store)
    assert listed["title"].tolist() == ["Text reminders"]
    assert listed["on_date"].dt.date.tolist() == [date(2026, 1, 12)]
    with store.read() as cur:
        rows = cur.execute("SELECT actor, action, detail FROM main.audit_log").fetchall()
    assert rows[0][0] == "ana@example.org" and rows[0][1] == "intervention"
    assert json.loads(rows[0][2])["intervention_id"] == 1


def test_site_interventions_follow_filters_and_scope(store_with_data):
    store = store_with_data
    record_intervention(store, date(2026, 1, 6), "All sites change", "", None, None, "a")
    record_intervention(store, date(2026, 1, 7), "North huddle", "", "North", None, "a")
    record_intervention(store, date(2026, 1, 8), "South huddle", "", "South", None, "a")
    assert len(_listed(store)) == 3
    assert _listed(store, Filters(sites=("North",)))["title"].tolist() == ["All sites change", "North huddle"]
    # a site lead for South never sees North's, even when filtering for North
    scoped = _listed(store, Filters(sites=("North",)), Scope(allowed_sites=("South",)))
    assert scoped["title"].tolist() == ["All sites change"]


def test_programme_interventions_follow_program_filter(store_with_data):
    record_intervention(store_with_data, date(2026, 3, 1), "Teen groups", "", None, "Adolescent IOP", "a")
    assert _listed(store_with_data, Filters(programs=("Adult IOP",))).empty
    assert len(_listed(store_with_data, Filters(programs=("Adolescent IOP",)))) == 1


def test_title_required(store_with_data):
    with pytest.raises(ValueError):
        record_intervention(store_with_data, date(2026, 1, 6), "  ", "", None, None, "a")

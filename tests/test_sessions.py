"""Session rates: hand-worked cases, breakdowns that add up, and properties (hypothesis)."""
from __future__ import annotations

import math
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.metrics import sessions
from analytics.metrics.breakdowns import UnknownColumnError
from analytics.store.schema import SESSION_STATUSES, SESSION_TYPES
from analytics.store import Store
from tests.conftest import add_enrollments, add_sessions, bound
from tests.store_rows import empty_store, filled_store, scratch_store_fixture
from tests.support import REPO_ROOT


# Two episodes, ten sessions. Adult IOP e1 (North, payer Medicaid), Adolescent e2 (South).


filled = filled_store("sessions")  # the rows: tests/fixtures/rows/sessions.toml


def test_hand_worked_rates(filled):
    with bound(filled) as cur:
        r = sessions.session_rates(cur)
    assert r.scheduled_total == 10
    assert r.program_cancelled == 2
    assert r.expected == 8  # program_cancelled kept out
    assert (r.attended, r.no_show, r.patient_cancelled) == (5, 2, 1)
    # completed: s01, s02 (exactly 90%), s07 (exactly 90%); not s03 (88%), s08 (89%)
    assert r.completed_sessions == 3
    assert r.attendance_rate == pytest.approx(5 / 8)
    assert r.no_show_rate == pytest.approx(2 / 8)
    assert r.patient_cancellation_rate == pytest.approx(1 / 8)
    assert r.program_cancellation_rate == pytest.approx(2 / 10)
    assert r.session_completion_rate == pytest.approx(3 / 8)
    # scheduled minutes of the 8 expected sessions; attended minutes of attended ones
    assert r.minutes_scheduled == 180 + 60 + 60 + 180 + 60 + 180 + 180 + 90
    assert r.minutes_attended == 180 + 54 + 53 + 162 + 161
    assert r.patients == 2


def test_completion_share_comes_from_config(filled, tmp_path, monkeypatch):
    source = REPO_ROOT / "config" / "iop.toml"
    text = source.read_text().replace("completion_share = 0.9", "completion_share = 0.5")
    assert "completion_share = 0.5" in text
    (tmp_path / "iop.toml").write_text(text)
    monkeypatch.setenv("IOP_CONFIG", str(tmp_path / "iop.toml"))
    with bound(filled) as cur:
        r = sessions.session_rates(cur)
    assert r.completed_sessions == 5  # every attended session is >= 50% here
    assert r.session_completion_rate == pytest.approx(5 / 8)


def test_as_of_before_the_data_end(filled):
    # On 2024-01-08 e2 (admitted that day) is in, and only sessions up to that day count.
    with bound(filled, as_of=date(2024, 1, 8)) as cur:
        r = sessions.session_rates(cur)
    assert r.scheduled_total == 7  # s01..s07
    assert r.expected == 6
    assert r.attended == 4  # s01 s02 s03 s07
    # On 2024-01-07 e2 is not admitted yet: its patient does not count.
    with bound(filled, as_of=date(2024, 1, 7)) as cur:
        r = sessions.session_rates(cur)
    assert r.scheduled_total == 5
    assert r.patients == 1


def test_empty_selection_gives_none_and_empty_frames(filled):
    with bound(filled, sites=("Nowhere",)) as cur:
        r = sessions.session_rates(cur)
        by_week = sessions.rates_by(cur, "week")
    assert r.expected == 0 and r.patients == 0 and r.minutes_attended == 0
    for rate in sessions.RATES:
        assert getattr(r, rate) is None
    assert by_week.empty
    assert "attendance_rate" in by_week.columns


def test_empty_store(store):
    with bound(store) as cur:
        r = sessions.session_rates(cur)
    assert r.scheduled_total == 0 and r.attendance_rate is None


def test_rates_by_week_and_weekday_by_hand(filled):
    with bound(filled) as cur:
        by_week = sessions.rates_by(cur, "week").set_index("week")
        by_day = sessions.rates_by(cur, "weekday")
    # the ISO week's Monday (a DATE; pandas shows it as a Timestamp)
    assert list(by_week.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-08")]
    first = by_week.loc[pd.Timestamp("2024-01-01")]
    assert (first["expected"], first["attended"], first["no_show"], first["program_cancelled"]) == (4, 3, 1, 1)
    assert first["attendance_rate"] == pytest.approx(3 / 4)
    assert first["session_completion_rate"] == pytest.approx(2 / 4)
    second = by_week.loc[pd.Timestamp("2024-01-08")]
    # cancellations beside no-shows, not in the attendance denominator
    assert (second["expected"], second["attended"], second["no_show"], second["patient_cancelled"]) == (4, 2, 1, 1)
    assert second["patient_cancellation_rate"] == pytest.approx(1 / 4)
    assert second["program_cancellation_rate"] == pytest.approx(1 / 5)
    assert second["patients"] == 2 and second["episodes"] == 2
    # Monday first; Monday = s01 + s06 + s07
    assert by_day["weekday"].tolist() == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    monday = by_day.iloc[0]
    assert (monday["expected"], monday["attended"], monday["patient_cancelled"]) == (3, 2, 1)


def test_rates_by_session_type_clinician_and_extra_column(filled):
    with bound(filled) as cur:
        by_type = sessions.rates_by(cur, "session_type").set_index("session_type")
        by_clin = sessions.rates_by(cur, "clinician").set_index("clinician")
        by_payer = sessions.rates_by(cur, "payer").set_index("payer")
        with pytest.raises(UnknownColumnError):
            sessions.rates_by(cur, "no_such_column")
    group = by_type.loc["group"]
    assert (group["scheduled_total"], group["expected"], group["attended"]) == (6, 4, 3)
    assert group["minutes_scheduled"] == 4 * 180
    assert group["minutes_attended"] == 180 + 162 + 161
    assert by_type.loc["family", "attendance_rate"] == 0.0
    assert by_clin.loc["c2", "minutes_attended"] == 54 + 53
    assert by_payer.loc["Medicaid", "expected"] == 5
    assert by_payer.loc["Private", "attendance_rate"] == pytest.approx(2 / 3)


DIMENSIONS = ["week", "month", "weekday", "session_type", "clinician", "site", "program", "cohort", "payer"]


def test_breakdown_counts_add_up_to_the_total(filled):
    with bound(filled) as cur:
        total = sessions.session_rates(cur)
        tables = {d: sessions.rates_by(cur, d) for d in DIMENSIONS}
    for dimension, table in tables.items():
        _check_adds_up(dimension, table, total)


def _check_adds_up(dimension, table, total):
    assert table.columns[0] == dimension
    for column in ("expected", "attended", "no_show", "patient_cancelled", "program_cancelled",
                   "scheduled_total", "completed_sessions", "minutes_scheduled", "minutes_attended"):
        assert table[column].sum() == getattr(total, column), column
    # a rate per row is that row's counts divided, never more than 1
    for _, row in table.iterrows():
        if row["expected"]:
            assert row["attendance_rate"] == pytest.approx(row["attended"] / row["expected"])
            assert 0 <= row["session_completion_rate"] <= row["attendance_rate"] <= 1


# -- properties ---------------------------------------------------------------
_session = st.tuples(
    st.integers(0, 2),                      # episode
    st.integers(0, 40),                     # day after 2024-01-01
    st.sampled_from(SESSION_TYPES),
    st.integers(1, 240),                    # scheduled minutes
    st.floats(0, 1),                        # attended share
    st.sampled_from(SESSION_STATUSES),
)


scratch_store = scratch_store_fixture("prop.duckdb")


def _refill(store: Store, rows) -> None:
    empty_store(store)
    add_enrollments(store, [
        (f"e{i}", f"p{i}", "North", "Adult IOP", "2024-01-01", None, None) for i in range(3)
    ])
    add_sessions(store, [
        (f"s{n}", f"e{ep}", date(2024, 1, 1) + timedelta(days=day), typ, "c1", sched,
         math.floor(sched * share) if status == "attended" else 0, status)
        for n, (ep, day, typ, sched, share, status) in enumerate(rows)
    ])


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_session, max_size=30), as_of_day=st.integers(0, 45))
def test_rates_stay_within_0_and_1(scratch_store, rows, as_of_day):
    _refill(scratch_store, rows)
    as_of = date(2024, 1, 1) + timedelta(days=as_of_day)
    with bound(scratch_store, as_of=as_of) as cur:
        r = sessions.session_rates(cur)
        by_day = sessions.rates_by(cur, "weekday")
    counted = [row for row in rows if row[1] <= as_of_day]
    assert r.scheduled_total == len(counted)
    assert r.expected == sum(1 for row in counted if row[5] != "program_cancelled")
    for rate in sessions.RATES:
        value = getattr(r, rate)
        if value is not None:
            assert 0 <= value <= 1
    if r.expected:
        # attended + no-show + patient-cancelled make up every expected session
        total = r.attendance_rate + r.no_show_rate + r.patient_cancellation_rate
        assert total == pytest.approx(1)
        assert r.session_completion_rate <= r.attendance_rate
    else:
        assert r.attendance_rate is None
    assert by_day["expected"].sum() == r.expected
    rates = by_day[list(sessions.RATES)].stack()
    assert ((rates >= 0) & (rates <= 1)).all()

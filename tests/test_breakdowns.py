"""Breakdown dimensions: only fixed expressions reach SQL; extra columns are checked and bound."""
from __future__ import annotations

import pytest
from conftest import add_enrollments, add_sessions

from analytics.metrics import breakdowns as bd
from analytics.filters import Filters
from analytics.store import bind_filters

TEMPLATE = "SELECT /*dimension*/ AS v, count(*) AS n FROM main.selected_episodes() GROUP BY ALL ORDER BY v"


def test_fixed_and_extra_dimensions(store):
    add_enrollments(store, [
        ("e1", "p1", "North", "Adult IOP", "2024-01-05", None, None, 8, {"payer": "Medicaid", "referral": "Court"}),
        ("e2", "p2", "South", "Adult IOP", "2024-02-05", None, None, 8, {"payer": "Commercial"}),
        ("e3", "p3", "South", "Teen IOP", "2024-02-07", None, None, 8, {}),
    ])
    add_sessions(store, [("s1", "e1", "2024-01-08", "group", "c1", 180, 180, "attended")])
    with store.read() as cur:
        bind_filters(cur, Filters())
        assert bd.extra_columns(cur) == ["payer", "referral"]
        assert bd.dimensions(cur) == ["site", "program", "cohort", "payer", "referral"]
        expr, params = bd.dimension_sql(cur, "cohort")
        assert cur.execute(bd.with_dimension(TEMPLATE, expr), params).fetchall() == [("2024-01", 1), ("2024-02", 2)]
        expr, params = bd.dimension_sql(cur, "payer")
        assert params == {"dimension_column": "payer"}
        rows = cur.execute(bd.with_dimension(TEMPLATE, expr), params).fetchall()
        assert rows == [("Commercial", 1), ("Medicaid", 1), (None, 1)]
        expr, params = bd.dimension_sql(cur, "weekday", level="session")
        sql = bd.with_dimension("SELECT /*dimension*/ FROM main.selected_sessions()", expr)
        assert cur.execute(sql, params).fetchall() == [("Monday",)]
        # session-only dimensions are refused at episode level; unknown names name the known ones
        with pytest.raises(bd.UnknownColumnError, match="known: site, program, cohort, payer, referral"):
            bd.dimension_sql(cur, "clinician")
        with pytest.raises(bd.UnknownColumnError):
            bd.dimension_sql(cur, "site; DROP TABLE sessions")


def test_with_dimension_refuses_anything_but_module_expressions():
    with pytest.raises(ValueError):
        bd.with_dimension(TEMPLATE, "patient_id")
    with pytest.raises(ValueError):
        bd.with_dimension("SELECT 1", "site")  # no placeholder
    assert bd.with_dimension(TEMPLATE, bd.TOTAL_EXPRESSION).startswith("SELECT 'all' AS v")


def test_check_filter_columns(store):
    add_enrollments(store, [("e1", "p1", "N", "Adult IOP", "2024-01-05", None, None, 8, {"payer": "A"})])
    with store.read() as cur:
        bd.check_filter_columns(cur, Filters(extra=(("payer", "A"),)))
        with pytest.raises(bd.UnknownColumnError, match=r"'payor'; known columns: payer"):
            bd.check_filter_columns(cur, Filters(extra=(("payor", "A"),)))

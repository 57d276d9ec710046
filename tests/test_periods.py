"""Period comparison on the hand-made store (tests/qi_fixture.py)."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analytics.qi import periods
from analytics.filters import Filters, Scope
from tests import qi_fixture


def test_last_complete_month():
    assert periods.last_complete_month(date(2026, 3, 20)) == date(2026, 2, 1)
    assert periods.last_complete_month(date(2026, 3, 31)) == date(2026, 3, 1)
    assert periods.last_complete_month(date(2026, 1, 5)) == date(2025, 12, 1)
    assert periods.add_months(date(2026, 2, 1), -12) == date(2025, 2, 1)


def test_compare_months_hand_worked(store):
    qi_fixture.fill(store)
    comp = periods.compare_months(store, Filters(as_of=qi_fixture.AS_OF), Scope())
    assert comp.months == {"this": date(2026, 2, 1), "previous": date(2026, 1, 1), "last_year": date(2025, 2, 1)}
    table = periods.comparison_table(comp).set_index("kpi")
    # February: admissions e4; discharges none; active at 28 Feb: e2, e3, e4.
    assert table.loc["admissions", "this_month"] == 1
    assert table.loc["discharges", "this_month"] == 0
    assert table.loc["active_census", "this_month"] == 3
    # January: admissions e1, e2, e3; discharge e1; active at 31 Jan: e2, e3.
    assert table.loc["admissions", "previous_month"] == 3
    assert table.loc["discharges", "previous_month"] == 1
    assert table.loc["active_census", "previous_month"] == 2
    assert table.loc["admissions", "change_vs_previous"] == -2
    # Sessions in February: s6 (patient cancelled), s8 (no-show): attendance 0/2, no-show 1/2.
    assert table.loc["attendance_rate", "this_month"] == 0.0
    assert table.loc["no_show_rate", "this_month"] == pytest.approx(0.5)
    assert table.loc["attendance_rate", "previous_month"] == pytest.approx(0.8)
    # Completion: January's only discharge (e1) dropped out.
    assert table.loc["completion_rate", "previous_month"] == 0.0
    assert pd.isna(table.loc["completion_rate", "this_month"])
    # January cohort (e1, e2, e3): e1 left unplanned on day 15 -> 2/3 at week 4.
    assert table.loc["retention_week_4", "previous_month"] == pytest.approx(2 / 3)
    # Nothing a year earlier.
    assert table.loc["admissions", "same_month_last_year"] == 0
    assert pd.isna(table.loc["attendance_rate", "same_month_last_year"])


def test_suppressed_comparison_hides_small_cells(store):
    qi_fixture.fill(store)
    comp = periods.compare_months(store, Filters(as_of=qi_fixture.AS_OF), Scope())
    table = periods.comparison_table(comp, suppress=True, threshold=11).set_index("kpi")
    assert table.loc["admissions", "this_month"] == "<11"
    assert table.loc["admissions", "change_vs_previous"] == "<11"
    assert table.loc["discharges", "this_month"] == 0  # zero is shown
    assert table.loc["attendance_rate", "previous_month"] == "<11"  # 3 patients
    assert table.loc["retention_week_4", "previous_month"] == "<11"


def _cells(adm, dis, census_now, census_before):
    rows = [("admissions", "this", adm), ("discharges", "this", dis),
            ("active_census", "this", census_now), ("active_census", "previous", census_before)]
    return pd.DataFrame([{"kpi": k, "period": p, "month": date(2026, 2, 1), "value": v, "numerator": v,
                          "denominator": None, "patients": None} for k, p, v in rows])


def test_census_identity_gets_complementary_suppression():
    # 40 = 38 + 5 - 3: with admissions (5) hidden, discharges (3) hidden too; the censuses stay.
    comp = periods.PeriodComparison(date(2026, 3, 20), {"this": date(2026, 2, 1)}, _cells(5, 30, 40, 65))
    table = periods.comparison_table(comp, suppress=True, threshold=11).set_index("kpi")
    assert table.loc["admissions", "this_month"] == "<11"
    assert table.loc["discharges", "this_month"] == "<11"  # 30 would give 5 = 40 - 65 + 30
    assert table.loc["active_census", "this_month"] == 40
    # When the other is 0, this month's census is hidden instead (0 stays 0).
    comp = periods.PeriodComparison(date(2026, 3, 20), {"this": date(2026, 2, 1)}, _cells(5, 0, 40, 35))
    table = periods.comparison_table(comp, suppress=True, threshold=11).set_index("kpi")
    assert table.loc["discharges", "this_month"] == 0
    assert table.loc["active_census", "this_month"] == "<11"
    assert table.loc["active_census", "change_vs_previous"] == "<11"

"""Period comparison for the QI page: the last complete month against the month
before and the same month a year earlier, for every overview KPI.

What "in a month" means per KPI (docs/qi.md, "Period comparison"):
- active census: episodes active at the end of the month's last day;
- admissions / discharges: admit / discharge date in the month;
- completion rate: completed / discharged, of the episodes discharged in the month;
- retention at weeks 4, 8, 12: the cohort admitted in the month, Aalen-Johansen
  retention as of as_of (None where nobody in the cohort has been followed that long);
- attendance and no-show rates: sessions dated in the month;
- dose target met rate: complete episode-weeks whose last day falls in the month.
Each figure comes from the function that defines it (discharges.period_counts,
retention.headline) or from the same per-month counts the control charts plot
(spc.session_counts, spc.completion_counts, spc.median_hours_by_month), so the
comparison, the charts and the overview agree.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import pandas as pd

from analytics.metrics import discharges
from analytics.metrics import retention
from analytics.metrics.sessions import RATES as SESSION_RATES
from analytics.qi import spc
from analytics.filters import Filters, Scope
from analytics.store import Store, bind_filters
from analytics.privacy.suppression import Suppression, suppressed_by

# kpi -> (label, kind); kind: count (episodes), rate_episodes (numerator and
# denominator count episodes), rate_sessions (group-size rule only)
KPIS: dict[str, tuple[str, str]] = {
    "active_census": ("Active census (end of month)", "count"),
    "admissions": ("Admissions", "count"),
    "discharges": ("Discharges", "count"),
    "completion_rate": ("Completion rate (discharges in the month)", "rate_episodes"),
    "retention_week_4": ("Retention at week 4 (cohort admitted in the month)", "rate_episodes"),
    "retention_week_8": ("Retention at week 8 (cohort admitted in the month)", "rate_episodes"),
    "retention_week_12": ("Retention at week 12 (cohort admitted in the month)", "rate_episodes"),
    "attendance_rate": ("Attendance rate (sessions in the month)", "rate_sessions"),
    "no_show_rate": ("No-show rate (sessions in the month)", "rate_sessions"),
    "dose_target_met_rate": ("Dose target met (weeks ending in the month)", "rate_sessions"),
}
PERIODS = ("this", "previous", "last_year")


@dataclass(frozen=True, eq=False)
class PeriodComparison:
    """cells: one row per (kpi, period): kpi, period, month, value, numerator, denominator, patients."""

    as_of: date | None
    months: dict[str, date]  # period -> first day of the month
    cells: pd.DataFrame


def month_start(d: date) -> date:
    return d.replace(day=1)


def month_end(first: date) -> date:
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return nxt - timedelta(days=1)


def add_months(first: date, months: int) -> date:
    y, m = divmod(first.year * 12 + first.month - 1 + months, 12)
    return date(y, m + 1, 1)


def last_complete_month(as_of: date) -> date:
    """The first day of the last month that has ended by as_of (as_of's own month if as_of is its last day)."""
    first = month_start(as_of)
    return first if month_end(first) == as_of else add_months(first, -1)


def _cohort_filters(filters: Filters, first: date) -> Filters | None:
    """The user's filters narrowed to admissions in the month (None when they exclude it)."""
    start = max(first, filters.admitted_from) if filters.admitted_from else first
    end = month_end(first)
    end = min(end, filters.admitted_to) if filters.admitted_to else end
    if end < start:
        return None
    return replace(filters, admitted_from=start, admitted_to=end)


def _row(series: pd.DataFrame, first: date) -> pd.Series | None:
    if series.empty:
        return None
    periods = pd.to_datetime(series["period"]).dt.date
    match = series[periods == first]
    return None if match.empty else match.iloc[0]


@suppressed_by(Suppression(hide=lambda comparison, *args, threshold=None, **kwargs: suppressed(comparison, threshold)))
def compare_months(store: Store, filters: Filters, scope: Scope) -> PeriodComparison:
    """The KPIs for the last complete month, the month before, and the same month last year."""
    rows: list[dict] = []
    with store.read() as cur:
        as_of = bind_filters(cur, filters, scope)
        if as_of is None:
            return PeriodComparison(None, {}, pd.DataFrame(columns=[
                "kpi", "period", "month", "value", "numerator", "denominator", "patients"]))
        this = last_complete_month(as_of)
        months = {"this": this, "previous": add_months(this, -1), "last_year": add_months(this, -12)}
        sessions = spc.session_counts(cur, "month")
        completion = spc.completion_counts(cur)
        hours = spc.median_hours_by_month(cur)

        def add(kpi, period, first, value, num=None, den=None, patients=None):
            rows.append({"kpi": kpi, "period": period, "month": first, "value": value,
                         "numerator": num, "denominator": den, "patients": patients})

        for period, first in months.items():
            counts = discharges.period_counts(cur, first, month_end(first))
            add("active_census", period, first, counts.active_at_end, counts.active_at_end)
            add("admissions", period, first, counts.admissions, counts.admissions)
            add("discharges", period, first, counts.discharges, counts.discharges)
            c = _row(completion, first)
            add("completion_rate", period, first,
                None if c is None or not c["discharged"] else c["completed"] / c["discharged"],
                None if c is None else int(c["completed"]), None if c is None else int(c["discharged"]),
                None if c is None else int(c["patients"]))
            s = _row(sessions, first)
            for kpi in ("attendance_rate", "no_show_rate"):
                num, den = SESSION_RATES[kpi]  # the session rates' one definition
                add(kpi, period, first,
                    None if s is None or not s[den] else s[num] / s[den],
                    None if s is None else int(s[num]), None if s is None else int(s[den]),
                    None if s is None else int(s["patients"]))
            h = _row(hours, first)
            add("dose_target_met_rate", period, first,
                None if h is None or not h["episode_weeks"] else h["met_weeks"] / h["episode_weeks"],
                None if h is None else int(h["met_weeks"]), None if h is None else int(h["episode_weeks"]),
                None if h is None else int(h["patients"]))
        # Retention needs the cohort's own selection, so it rebinds the cursor last.
        for period, first in months.items():
            cohort = _cohort_filters(filters, first)
            ret: dict[str, float | None] = {}
            size = patients = 0
            if cohort is not None:
                bind_filters(cur, replace(cohort, as_of=as_of), scope)
                size, patients = cur.execute(
                    "SELECT count(*), count(DISTINCT patient_id) FROM main.selected_episodes()"
                ).fetchone()
                if size:
                    ret, _ = retention.headline(cur, (4, 8, 12))
            for w in (4, 8, 12):
                value = ret.get(f"week_{w}")
                add(f"retention_week_{w}", period, first, value,
                    None if value is None else round(value * size), int(size), int(patients))
    return PeriodComparison(as_of, months, pd.DataFrame(rows))


def _complement_census(cells: pd.DataFrame, hidden: pd.Series) -> None:
    """Census at the end of this month = census a month before + admissions - discharges,
    so when one of admissions and discharges is hidden and both censuses are shown, the
    hidden one could be worked out: hide the other too, or (if it is 0) this month's census.
    """
    def index(kpi: str, period: str):
        found = cells.index[(cells["kpi"] == kpi) & (cells["period"] == period)]
        return found[0] if len(found) else None

    adm, dis = index("admissions", "this"), index("discharges", "this")
    now, before = index("active_census", "this"), index("active_census", "previous")
    if None in (adm, dis, now, before) or hidden[now] or hidden[before]:
        return
    if hidden[adm] == hidden[dis]:
        return
    other = dis if hidden[adm] else adm
    if cells.loc[other, "value"]:
        hidden[other] = True
    else:
        hidden[now] = True


def hidden_cells(comparison: PeriodComparison, threshold: int | None = None) -> pd.Series:
    """True for each cell (row of comparison.cells) built on small numbers."""
    from analytics.config import suppression_threshold
    from analytics.privacy.suppression import RateSpec, SuppressionSpec, suppression_mask

    threshold = threshold if threshold is not None else suppression_threshold()
    cells = comparison.cells
    hidden = pd.Series(False, index=cells.index)
    if not cells.empty:
        for kind in ("count", "rate_episodes", "rate_sessions"):
            part = cells[cells["kpi"].map(lambda k: KPIS[k][1]) == kind]
            if part.empty:
                continue
            if kind == "count":
                spec = SuppressionSpec(counts=("value",), column_totals=False)
                mask = suppression_mask(part, spec, threshold)["value"]
            elif kind == "rate_episodes":
                spec = SuppressionSpec(rates=(RateSpec("value", "numerator", "denominator"),),
                                       group_size="patients", column_totals=False)
                mask = suppression_mask(part, spec, threshold)["value"]
            else:
                spec = SuppressionSpec(rates=(RateSpec("value"),), group_size="patients", column_totals=False)
                mask = suppression_mask(part, spec, threshold)["value"]
            hidden.loc[part.index] = mask.to_numpy()
        _complement_census(cells, hidden)
    return hidden


def suppressed(comparison: PeriodComparison, threshold: int | None = None) -> PeriodComparison:
    """The comparison with each hidden cell's value replaced by '<threshold'."""
    from analytics.privacy.suppression import marker

    hidden = hidden_cells(comparison, threshold)
    values = comparison.cells["value"].astype(object).where(~hidden, marker(threshold))
    return replace(comparison, cells=comparison.cells.assign(value=values))


def comparison_table(comparison: PeriodComparison, *, suppress: bool = False,
                     threshold: int | None = None) -> pd.DataFrame:
    """One row per KPI: kpi, label, the three months' values and the two changes.

    With suppress=True (packet, CSV), a cell built on small numbers reads '<11'
    and any change that involves it is hidden too (as for a suppressed() comparison).
    """
    from analytics.privacy.suppression import marker

    cells = comparison.cells
    hidden = hidden_cells(comparison, threshold) if suppress else pd.Series(False, index=cells.index)
    lookup = {(r.kpi, r.period): (r.value, bool(hidden.loc[i])) for i, r in cells.iterrows()}
    out = []
    for kpi, (label, _) in KPIS.items():
        row: dict[str, object] = {"kpi": kpi, "label": label}
        values = {}
        for period in PERIODS:
            v, is_hidden = lookup.get((kpi, period), (None, False))
            values[period] = marker(threshold) if is_hidden else (None if v is None or pd.isna(v) else v)
        row.update({"this_month": values["this"], "previous_month": values["previous"],
                    "same_month_last_year": values["last_year"]})
        for name, other in (("change_vs_previous", "previous"), ("change_vs_last_year", "last_year")):
            a, b = values["this"], values[other]
            if isinstance(a, str) or isinstance(b, str):
                row[name] = marker(threshold)
            elif a is None or b is None:
                row[name] = None
            else:
                row[name] = a - b
        out.append(row)
    return pd.DataFrame(out)

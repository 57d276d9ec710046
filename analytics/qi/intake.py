"""QI views of access and early engagement: control charts and the admission-rate funnel plot.

- XmR chart of the median wait (first contact to first attended session) by month of
  first contact;
- p-chart of NIATx continuation to the 4th day of care by admission month;
- p-chart of IET-style engagement (not the HEDIS measure) by month of the index date;
- funnel plot of the admission rate by a referral column (referral source, site),
  one per program, instead of a league table.

The charts use the signal rules and baselines of analytics/qi/spc.py and are drawn
with the interventions like every other chart (docs/qi.md, "Control charts"). The
figures come from the access definitions (analytics/store/macros.py,
intake_episodes() and selected_referrals(); docs/metrics.md, "Access and early
engagement").

>>> charts = access_charts(cur)
>>> charts["median_wait_month"].signals
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from analytics.metrics.breakdowns import referral_dimension_sql, with_dimension
from analytics.privacy.suppression import Suppression, control_charts, funnel_spec, suppress_funnel, suppressed_by
from analytics.qi.funnel import FunnelPlot, funnels_by_program
from analytics.qi.spc import ControlChart, _with_metric, month_label, p_chart, xmr_chart
from analytics.store import fetch_df, sql_text


def median_wait_chart(cur, *, baseline_start=None, baseline_end=None) -> ControlChart:
    """XmR chart of the median wait in days by month of first contact (months whose last
    day is at least 28 days before as_of)."""
    counts = fetch_df(cur, "qi/spc_median_wait")
    frame = counts.rename(columns={"median_wait_days": "value"})[["period", "value"]]
    chart = xmr_chart(frame, title="Median wait in days, by month of first contact",
                      baseline_start=baseline_start, baseline_end=baseline_end,
                      label=month_label, value_kind="days")
    return _with_metric(chart, "median_wait_days", counts)


def continuation_chart(cur, *, baseline_start=None, baseline_end=None) -> ControlChart:
    """p-chart of continuation to the 4th day of care (NIATx) by admission month."""
    return _monthly_p_chart(cur, "qi/spc_continuation_day4", "continued", "admitted", "continuation_day_4",
                            "Continuation to the 4th day of care, by admission month",
                            baseline_start=baseline_start, baseline_end=baseline_end)


def engagement_chart(cur, *, baseline_start=None, baseline_end=None) -> ControlChart:
    """p-chart of IET-style engagement by month of the index date."""
    return _monthly_p_chart(cur, "qi/spc_engagement", "engaged", "eligible", "engagement_rate",
                            "IET-style engagement (not HEDIS), by index month",
                            baseline_start=baseline_start, baseline_end=baseline_end)


def _monthly_p_chart(cur, query: str, x: str, n: str, metric: str, title: str, **baseline) -> ControlChart:
    """A p-chart by month of a query's `period`, x of n, keeping its counts for suppression."""
    counts = fetch_df(cur, query)
    frame = counts.rename(columns={x: "x", n: "n"})[["period", "x", "n"]]
    return _with_metric(p_chart(frame, title=title, label=month_label, **baseline), metric, counts)


# The p-charts count episodes (persons); the XmR chart's points are medians, hidden
# only when the month rests on too few patients.
ACCESS_EPISODE_CHARTS = frozenset({"continuation_day_4_month", "engagement_month"})


@suppressed_by(control_charts(ACCESS_EPISODE_CHARTS))
def access_charts(cur, *, baseline_start=None, baseline_end=None) -> dict[str, ControlChart]:
    """The access control charts of the QI page and packet, by key, in display order."""
    b = {"baseline_start": baseline_start, "baseline_end": baseline_end}
    return {
        "median_wait_month": median_wait_chart(cur, **b),
        "continuation_day_4_month": continuation_chart(cur, **b),
        "engagement_month": engagement_chart(cur, **b),
    }


def admission_counts(cur, dimension: str) -> pd.DataFrame:
    """program, unit, x (admitted), n (decided: referrals not pending on as_of),
    group_patients, referrals, per value of a referral column (cursor filters bound)."""
    expression, params = referral_dimension_sql(cur, dimension)
    counts = cur.execute(with_dimension(sql_text("metrics/intake_admissions_by"), expression), params).df()
    return counts.rename(columns={"admitted": "x", "decided": "n", "decided_patients": "group_patients"})


def _hide_admission_funnels(plots: dict, dimension: str, *, threshold: int | None = None, **_: Any) -> dict:
    return {program: suppress_funnel(plot, person_counts=True, threshold=threshold) for program, plot in plots.items()}


@suppressed_by(Suppression(spec=lambda dimension: funnel_spec(person_counts=True), hide=_hide_admission_funnels))
def admission_funnels(cur, dimension: str) -> dict[str, FunnelPlot]:
    """One funnel plot per program (the referral's) of the admission rate by a referral
    column: admitted / decided referrals, with limits that widen as volume falls."""
    label = dimension.replace("_", " ")
    return funnels_by_program(admission_counts(cur, dimension), f"Admission rate by {label}", label)

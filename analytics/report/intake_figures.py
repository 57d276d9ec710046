"""Plotly figures for access and early engagement, shared by the Access page and the packet.

They wrap analytics/report/figures.py's builders (one look everywhere). A value hidden
by small-cell suppression arrives as NaN or as the marker text ("<11"): it is not
drawn, and where a figure labels its bars the label reads the marker. No Streamlit here.

>>> fig = contact_funnel_figure(intake.funnel_steps(intake.contact_funnel(cur)))
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics import formatting
from analytics.metrics.intake import CARE_DAYS, OUTCOME_LABELS, OUTCOMES
from analytics.privacy.suppression import is_hidden
from analytics.qi import targets
from analytics.report import figures

OUTCOME_COLOURS = {
    "Admitted": figures.OKABE_ITO[0], "Pending": "#999999", "Declined": figures.OKABE_ITO[1],
    "Not eligible": figures.OKABE_ITO[4], "No-show": figures.OKABE_ITO[3], "Referred elsewhere": figures.OKABE_ITO[5],
}
CARE_DAY_NAMES = {f"day_{k}": f"{k} day{'s' if k > 1 else ''} or more" for k in CARE_DAYS}


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce")


def contact_funnel_figure(steps: pd.DataFrame) -> go.Figure:
    """The path from first contact to the 4th day of care: one bar per step, widest first,
    each labelled with its referrals, its share of the contacts and the drop from the step
    before."""
    title = "From first contact to the 4th day of care (referrals first seen 28+ days before the data date)"
    counts = _numbers(steps["referrals"])
    labels = []
    for _, row in steps.iterrows():
        shown = formatting.number(row["referrals"])
        share = row["share_of_contacts"]
        if not is_hidden(share) and pd.notna(share):
            shown += f" ({formatting.number(share, 'rate')})"
        drop = row["drop"]
        if row["step"] > 1 and drop is not None and not (isinstance(drop, float) and pd.isna(drop)):
            shown += f", −{formatting.number(drop)}"
        labels.append(shown)
    fig = go.Figure(go.Bar(
        y=steps["label"], x=counts, orientation="h", marker_color=figures.OKABE_ITO[0], text=labels,
        textposition="auto", name="Referrals", hovertemplate="%{y}: %{x:,}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig = figures.style(fig, title, "Referrals", "")
    fig.update_layout(showlegend=False)
    return fig


def outcomes_by_month_figure(wide: pd.DataFrame) -> go.Figure:
    """Referrals per month of first contact, stacked by outcome as known on the data date."""
    long = wide[["month", *OUTCOMES]].melt(id_vars=["month"], var_name="outcome", value_name="referrals")
    long["referrals"] = _numbers(long["referrals"])
    # a zero draws no segment; left out so the chart holds only what it shows (hidden
    # cells stay, as gaps)
    long = long[long["referrals"] != 0]
    # stacked in the order of OUTCOMES, so colours and legend read the same every month
    long["order"] = long["outcome"].map({o: i for i, o in enumerate(OUTCOMES)})
    long = long.sort_values(["order", "month"], kind="stable")
    long["outcome"] = long["outcome"].map(OUTCOME_LABELS)
    return figures.bar_chart(long, x="month", y="referrals", color="outcome", barmode="stack",
                             colour_map=OUTCOME_COLOURS, title="Referral outcomes by month of first contact",
                             x_title="Month of first contact", y_title="Referrals")


def wait_distribution_figure(bins: pd.DataFrame) -> go.Figure:
    """Episodes by wait from first contact to the first attended session, in bins."""
    # an empty bin keeps its place on the axis but draws no bar (and holds no figure)
    frame = bins.assign(episodes=_numbers(bins["episodes"]).replace(0, float("nan")))
    fig = figures.bar_chart(frame, x="label", y="episodes", names={"episodes": "Episodes"},
                            category_order=list(frame["label"]),
                            title="Wait from first contact to the first attended session",
                            x_title="Wait", y_title="Episodes")
    fig.update_layout(showlegend=False)
    return fig


def waits_by_month_figure(months: pd.DataFrame) -> go.Figure:
    """The median wait (with the quartiles) by month of first contact, and the target line."""
    frame = months.assign(**{c: _numbers(months[c]) for c in ("median_wait_days", "q1_wait_days", "q3_wait_days")})
    target = targets.target_for("median_wait_days")
    return figures.line_chart(
        frame, x="month", y=["median_wait_days", "q1_wait_days", "q3_wait_days"],
        names={"median_wait_days": "Median", "q1_wait_days": "25th percentile", "q3_wait_days": "75th percentile"},
        title="Wait by month of first contact",
        x_title="Month of first contact", y_title="Days from first contact to first attended session",
        target=target.value if target else None,
        target_label=f"{target.describe(percent=False)} days" if target else "Target")


def continuation_figure(table: pd.DataFrame, dimension: str) -> go.Figure:
    """The share of eligible episodes with 1, 2, 3 and 4 or more days of care in their first
    28, per value of a dimension (site, program, ...)."""
    label = dimension.replace("_", " ")
    frame = table.assign(**{f"day_{k}": _numbers(table[f"day_{k}"]) for k in CARE_DAYS})
    frame[dimension] = frame[dimension].fillna("(not recorded)").astype(str)
    target = targets.target_for("continuation_day_4")
    return figures.bar_chart(
        frame, x=dimension, y=[f"day_{k}" for k in CARE_DAYS], names=CARE_DAY_NAMES, percent=True,
        title=f"Continuation in the first 28 days by {label} (NIATx)", x_title=label.capitalize(),
        y_title="Episodes with that many days of care (%)",
        target=target.value if target else None,
        target_label=f"4 days, {target.describe()}" if target else "Target")


def iet_trend_figure(months: pd.DataFrame) -> go.Figure:
    """IET-style initiation and engagement by month of the index date."""
    frame = months.assign(initiation_rate=_numbers(months["initiation_rate"]),
                          engagement_rate=_numbers(months["engagement_rate"]))
    return figures.line_chart(
        frame, x="month", y=["initiation_rate", "engagement_rate"], percent=True,
        names={"initiation_rate": "Initiation (14 days)", "engagement_rate": "Engagement (34 more days)"},
        title="IET-style initiation and engagement (not HEDIS), by month of first contact or admission",
        x_title="Month of the index date", y_title="Eligible episodes (%)")

"""Plotly figures for the QI toolkit: control charts, funnel plots (shared by the QI page and the
packet) and the at-risk buckets.

They wrap analytics/report/figures.py's builders (one look everywhere) and add what
the QI charts need: target lines from config, interventions as labelled
vertical markers, suppressed points shown as "<11", and escaping of every
text that came from the data (site, clinician, intervention titles), since
Plotly renders a subset of HTML in labels.
No Streamlit here.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.formatting import escape_html
from analytics.report import figures
from analytics.qi import targets
from analytics.qi import funnel
from analytics.qi.funnel import FunnelPlot
from analytics.qi.spc import ControlChart

Y_TITLES = {
    "attendance_rate": "Attendance rate (%)",
    "no_show_rate": "No-show rate (%)",
    "completion_rate": "Completion rate (%)",
    "retention_week_4": "Retained at week 4 (%)",
    "median_weekly_hours": "Median weekly hours (h)",
    "measurement_completion_rate": "Windows with a score (%)",
    "reliable_improvement_rate": "Pairs reliably improved (%)",
    "median_wait_days": "Median wait (days)",
    "continuation_day_4": "Continued to the 4th day of care (%)",
    "engagement_rate": "IET-style engagement (%)",
    "admission_rate": "Admission rate (%)",
}


def _period_end(points: pd.DataFrame) -> pd.Timestamp:
    periods = pd.to_datetime(points["period"])
    step = periods.diff().median() if len(periods) > 1 else pd.Timedelta(days=31)
    return periods.max() + (step if pd.notna(step) else pd.Timedelta(days=31))


def control_chart_figure(
    chart: ControlChart,
    interventions: pd.DataFrame | None = None,
    *,
    target: float | None = None,
    suppressed_marker: str = "<11",
) -> go.Figure:
    """The chart with its limits and signals, the metric's target line (from config,
    or `target` for the hours chart), and interventions as labelled vertical lines."""
    percent = chart.value_kind == "proportion"
    title = chart.title + (" — Laney p′ limits" if chart.kind == "p'" else "")
    if chart.points.empty or chart.points["value"].isna().all():
        if "suppressed" in chart.points.columns and chart.points["suppressed"].any():
            return figures.empty_figure(title, "Every point is hidden by small-cell suppression.")
        return figures.empty_figure(title, "No complete period to chart for this selection.")
    tgt = targets.target_for(chart.metric)
    target_value = target if target is not None else (tgt.value if tgt else None)
    unit = {"hours": " h", "days": " days"}.get(chart.value_kind, "")
    target_label = (tgt.describe(percent=percent) + ("" if percent else unit)) if tgt and target is None else (
        f"target: {target:g}{unit}" if target is not None else "Target")
    points = chart.points
    shown = None
    if interventions is not None and not interventions.empty:
        start, end = pd.to_datetime(points["period"]).min(), _period_end(points)
        on = pd.to_datetime(interventions["on_date"])
        shown = interventions.loc[(on >= start) & (on <= end)].copy()
        shown["title"] = shown["title"].map(escape_html)
    fig = figures.control_chart(
        points, title=title, y_title=Y_TITLES.get(chart.metric, "Value"),
        percent=percent, interventions=shown, target=target_value, target_label=target_label,
    )
    if shown is not None:
        for _, row in shown.iterrows():
            fig.add_annotation(
                x=pd.Timestamp(row["on_date"]), y=1.0, yref="paper", text=row["title"], showarrow=False,
                textangle=-90, xanchor="right", yanchor="top", font=dict(size=11, color=figures.OKABE_ITO[4]),
            )
    if "suppressed" in points.columns and points["suppressed"].any():
        hidden = points[points["suppressed"].astype(bool)]
        fig.add_trace(go.Scatter(
            x=hidden["period"], y=hidden["cl"], mode="markers", name=f"hidden ({escape_html(suppressed_marker)})",
            marker=dict(symbol="x-thin-open", size=10, color="#777"),
            hovertemplate=f"%{{x}}: {escape_html(suppressed_marker)}<extra></extra>",
        ))
    return fig


def funnel_figure(plot: FunnelPlot, metric: str) -> go.Figure:
    """A funnel plot of one program's units with 95% and 99.8% limits and the metric's target line."""
    title = escape_html(plot.title or "Funnel plot")
    if plot.points.empty or plot.p0 is None:
        hidden = any("small-cell suppression" in o for o in plot.outliers)
        return figures.empty_figure(title, "Every unit is hidden by small-cell suppression." if hidden
                                   else "No unit has any volume for this selection.")
    points = plot.points.assign(unit=plot.points["unit"].map(escape_html))
    fig = figures.funnel_plot(
        points, plot.curve, plot.p0, title=title,
        x_title=funnel.VOLUMES.get(metric, "Volume"), y_title=Y_TITLES.get(metric, "Rate (%)"),
        unit_label=plot.unit_kind.capitalize(),
    )
    tgt = targets.target_for(metric)
    if tgt is not None:
        figures.add_target_line(fig, tgt.value, tgt.describe())
    return fig


def at_risk_figure(counts: pd.DataFrame) -> go.Figure:
    """At-risk episodes by days since the last attended session (qi.atrisk.bucket_counts)."""
    fig = figures.bar_chart(counts, x="bucket", y="episodes", category_order=list(counts["bucket"]),
                            names={"episodes": "Episodes"}, title="At-risk episodes by days since last attendance",
                            x_title="Days since last attended session", y_title="Episodes", height=300)
    fig.update_layout(showlegend=False)
    return fig

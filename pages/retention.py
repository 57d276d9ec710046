"""Retention: who leaves, and when. Layout only; the figures come from analytics.metrics.retention/discharges."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import formatting
from analytics.metrics import breakdowns, discharges, retention
from analytics.report import figures
from ui import data, widgets
from ui.context import page_context

ctx = page_context()
st.title("Retention")
widgets.as_of_line(ctx)

MEASURES = {
    "Retention (no unplanned discharge)": ("retention", "Retained (%)"),
    "Still in program (any discharge ends it)": ("in_program", "Still in program (%)"),
}
ALL = "All selected episodes"
NO_DISCHARGES = "No discharges in this selection yet."


def _reasons_in_order(df):
    """df's rows in the TEDS-D order of discharge reasons, each reason by its label: the colours and the
    legend read the same in every chart."""
    order = {reason: i for i, reason in enumerate(figures.REASON_LABELS)}
    df = df.sort_values("discharge_reason", key=lambda s: s.map(order))
    return df.assign(discharge_reason=df["discharge_reason"].map(lambda r: figures.REASON_LABELS.get(r, r)))


def retention_curves() -> None:
    st.subheader("Retention over the first 12 weeks")
    dims = [d for d in data.query(ctx, breakdowns.dimensions, "episode") if d != "cohort"]
    left, right = st.columns(2)
    by = left.selectbox("Compare by", [ALL] + dims, key="ret_by",
                        format_func=lambda d: d.replace("_", " ").capitalize() if d != ALL else d)
    measure = right.radio("Measure", list(MEASURES), key="ret_measure", horizontal=True)
    column, y_title = MEASURES[measure]
    curve = data.query(ctx, retention.retention_curve, by=None if by == ALL else by)
    # The analytics layer marks where a curve must stop (fewer than 10 at risk).
    shown = curve[curve["shown"]].copy()
    if shown.empty or shown[column].isna().all():
        widgets.note_empty("Too few episodes to draw a retention curve for this selection "
                           "(a curve needs at least 10 episodes at risk).")
        return
    group = None if by == ALL else by
    if group is not None:
        shown[group] = shown[group].fillna("(not recorded)").astype(str)

    def build():
        fig = figures.retention_curves(
            shown.rename(columns={column: "y", f"{column}_lo": "lo", f"{column}_hi": "hi", "n_at_risk": "at_risk"}),
            group=group or "__none__", y="y", title=f"{measure} by week since admission",
            y_title=y_title, target=None,
        )
        return fig
    widgets.cached_chart(ctx, "ret_curve", build, by, measure)
    dropped = sorted(set(curve[group].fillna("(not recorded)").astype(str)) - set(shown[group])) if group else []
    if dropped:
        st.caption(f"{len(dropped)} group(s) have fewer than 10 episodes at risk from the start and are not drawn.")
    widgets.how_computed("retention-curves")
    table = curve[[c for c in ([group] if group else []) + ["week", "n_at_risk", column, f"{column}_lo",
                                                              f"{column}_hi"] if c]]
    with st.expander("Table"):
        widgets.table(ctx, table, "retention_curve", retention.retention_curve)


def readmissions() -> None:
    st.subheader("Readmission")
    rates = data.query(ctx, discharges.readmission_rates)
    cols = st.columns(len(rates))
    for col, (days, r) in zip(cols, sorted(rates.items())):
        with col:
            widgets.tile(f"Readmitted within {days} days", r.rate, "rate", higher_is_better=None,
                         help=f"{formatting.number(r.readmitted)} of {formatting.number(r.eligible)} discharges at "
                              f"least {days} days before the data date")
    widgets.how_computed("readmission")
    table = pd.DataFrame([{"window_days": d, "eligible": r.eligible, "readmitted": r.readmitted, "rate": r.rate}
                          for d, r in sorted(rates.items())])
    widgets.download_table(ctx, table, "readmission", discharges.readmission_rates)


def cohort_heatmap() -> None:
    st.subheader("Retention by admission month")
    cohorts = data.query(ctx, retention.cohort_retention)
    if cohorts.empty or cohorts["retention"].isna().all():
        widgets.note_empty("No admission cohort has been followed long enough to show here.")
        return
    cells = cohorts.copy()
    # A cell resting on fewer than 10 episodes at risk says nothing; leave it blank.
    cells.loc[cells["low_risk"].astype(bool), "retention"] = float("nan")

    def build():
        fig = figures.heatmap(cells, x="week", y="cohort", z="retention", text_n="n_at_risk",
                             title="Share without an unplanned discharge, by admission month and program week",
                             x_title="Program week", y_title="Admission month", z_title="Retention")
        return fig
    widgets.chart_section(ctx, "ret_heatmap", build, anchor="cohort-heatmap",
                          table_df=cohorts[["cohort", "week", "n", "n_at_risk", "retention"]],
                          name="retention_by_cohort", source=retention.cohort_retention)


def discharge_reasons() -> None:
    reasons = widgets.section_table(ctx, "Discharge reasons over time", discharges.discharge_reasons_by_month,
                                    empty=NO_DISCHARGES)
    if reasons is None:
        return
    view = st.radio("Show", ["Share of discharges", "Number of discharges"], key="ret_reason_view",
                    horizontal=True)
    share = view.startswith("Share")
    shown = _reasons_in_order(reasons)

    def build():
        fig = figures.bar_chart(shown, x="month", y="share" if share else "discharges", color="discharge_reason",
                               barmode="stack", percent=share, colour_map=figures.REASON_COLOURS,
                               title="Discharge reasons by month of discharge", x_title="Month of discharge",
                               y_title="Share of discharges (%)" if share else "Discharges (episodes)")
        fig.update_layout(legend_traceorder="normal")
        return fig
    widgets.chart_section(ctx, "ret_reasons", build, view, anchor="discharge-reasons-over-time", table_df=reasons,
                          name="discharge_reasons_by_month", source=discharges.discharge_reasons_by_month)


def time_in_program() -> None:
    los = widgets.section_table(ctx, "Time in program by discharge reason", discharges.los_by_reason,
                                empty=NO_DISCHARGES)
    if los is None:
        return
    los = _reasons_in_order(los)

    def build():
        fig = figures.box_from_quantiles(los, "discharge_reason", q1="q1", median="median", q3="q3",
                                        lower="lower_whisker", upper="upper_whisker",
                                        title="Days from admission to discharge, by discharge reason",
                                        x_title="Discharge reason", y_title="Time in program (days)",
                                        colour_map=figures.REASON_COLOURS)
        return fig
    widgets.chart_section(ctx, "ret_los", build, anchor="time-in-program-by-discharge-reason",
                          table_df=los[["discharge_reason", "n", "mean", "q1", "median", "q3"]],
                          name="time_in_program_by_reason", source=discharges.los_by_reason)


for section, name in ((retention_curves, "Retention curve"), (readmissions, "Readmission"),
                      (cohort_heatmap, "Cohort heatmap"), (discharge_reasons, "Discharge reasons"),
                      (time_in_program, "Time in program")):
    widgets.guarded(section, name)

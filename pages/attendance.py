"""Attendance and session completion, and the weekly dose against ASAM 2.1. Layout only."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import formatting
from analytics.metrics import dose as dosage, sessions
from analytics.metrics.breakdowns import WEEKDAY_ORDER
from analytics.qi.targets import target_for
from analytics.report import figures
from ui import data, widgets
from ui.context import page_context

ctx = page_context()
st.title("Attendance and session completion")
widgets.as_of_line(ctx)

RATE_NAMES = {
    "attendance_rate": "Attendance",
    "no_show_rate": "No-show",
    "patient_cancellation_rate": "Cancelled by patient",
    "program_cancellation_rate": "Cancelled by program",
}


def _target(metric: str) -> float | None:
    t = target_for(metric)
    return t.value if t else None


def headline() -> None:
    rates = data.query(ctx, sessions.session_rates)
    if rates.expected == 0:
        widgets.note_empty("No scheduled sessions in this selection.")
        st.stop()
    cols = st.columns(5)
    with cols[0]:
        widgets.tile("Attendance rate", rates.attendance_rate, "rate",
                     help=f"{formatting.number(rates.attended)} attended of {formatting.number(rates.expected)} "
                          "expected sessions")
    with cols[1]:
        widgets.tile("No-show rate", rates.no_show_rate, "rate", higher_is_better=False,
                     help=f"{formatting.number(rates.no_show)} no-shows of {formatting.number(rates.expected)} "
                          "expected sessions")
    with cols[2]:
        widgets.tile("Cancelled by patient", rates.patient_cancellation_rate, "rate", higher_is_better=False)
    with cols[3]:
        widgets.tile("Cancelled by program", rates.program_cancellation_rate, "rate", higher_is_better=False,
                     help="Share of all scheduled sessions; not counted against attendance")
    with cols[4]:
        widgets.tile("Session completion", rates.session_completion_rate, "rate",
                     help="Attended for at least 90% of the scheduled minutes, of expected sessions")


def over_time() -> None:
    st.subheader("Rates by week and month")
    grain = st.radio("Period", ["Month", "Week"], key="att_grain", horizontal=True)
    dim = grain.lower()
    table = data.query(ctx, sessions.rates_by, dim)
    if table.empty:
        widgets.note_empty()
        return
    long = table.melt(id_vars=[dim, "expected"], value_vars=list(RATE_NAMES), var_name="rate", value_name="value")
    long["rate"] = long["rate"].map(RATE_NAMES)

    def build():
        fig = figures.line_chart(long, x=dim, y="value", color="rate", percent=True, hover_n="expected",
                                title=f"Attendance, no-show and cancellation rates by {dim}",
                                x_title="Week starting (Monday)" if dim == "week" else "Month",
                                y_title="Share of sessions (%)")
        fig.update_layout(legend_title_text="")
        return fig
    widgets.cached_chart(ctx, "att_over_time", build, dim)
    widgets.how_computed("session-rates")
    with st.expander("Table"):
        widgets.table(ctx, table, f"session_rates_by_{dim}", sessions.rates_by, dim)


def by_dimension() -> None:
    st.subheader("By weekday, session type and clinician")
    labels = {"weekday": "Weekday", "session_type": "Session type", "clinician": "Clinician"}
    dim = st.radio("Compare by", list(labels), format_func=labels.get, key="att_dim", horizontal=True)
    table = data.query(ctx, sessions.rates_by, dim)
    if table.empty:
        widgets.note_empty()
        return
    # Cancellations beside no-shows: all four rates, as in the chart over time.
    long = table.melt(id_vars=[dim], value_vars=list(RATE_NAMES), var_name="rate", value_name="value")
    long["rate"] = long["rate"].map(RATE_NAMES)
    long[dim] = long[dim].fillna("(not recorded)").astype(str)
    order = None
    if dim == "weekday":
        order = [d for d in WEEKDAY_ORDER if d in set(long[dim])]
    many = long[dim].nunique() > 8

    def build():
        fig = figures.bar_chart(long, x=dim, y="value", color="rate", percent=True, horizontal=many,
                               category_order=order, title=f"Session rates by {labels[dim].lower()}",
                               x_title="Share of sessions (%)" if many else labels[dim],
                               y_title=labels[dim] if many else "Share of sessions (%)",
                               height=max(380, 26 * long[dim].nunique() + 120) if many else 380)
        fig.update_layout(legend_title_text="")
        return fig
    widgets.cached_chart(ctx, "att_by_dim", build, dim)
    if dim == "clinician":
        st.caption("Rates per clinician vary by chance with few sessions; the QI page's funnel plots show "
                   "which differences go beyond chance.")
    widgets.how_computed("session-rates")
    with st.expander("Table"):
        widgets.table(ctx, table, f"session_rates_by_{dim}", sessions.rates_by, dim)


def minutes() -> None:
    st.subheader("Minutes delivered against minutes scheduled")
    table = data.query(ctx, sessions.rates_by, "month")
    if table.empty:
        widgets.note_empty()
        return
    hours = pd.DataFrame({
        "month": table["month"],
        "Scheduled": table["minutes_scheduled"] / 60.0,
        "Delivered": table["minutes_attended"] / 60.0,
    })

    def build():
        fig = figures.bar_chart(hours, x="month", y=["Scheduled", "Delivered"], title="Hours scheduled and delivered by month",
                               x_title="Month", y_title="Hours (minutes / 60)")
        return fig
    widgets.cached_chart(ctx, "att_minutes", build)
    widgets.how_computed("minutes-scheduled-and-delivered")


def dose() -> None:
    st.subheader("Weekly dose against ASAM Level 2.1")
    summary = data.query(ctx, dosage.dose_summary)
    if summary.episode_weeks == 0:
        widgets.note_empty("No complete episode-week in this selection yet, so there is no weekly dose to show.")
        return
    c1, c2, c3 = st.columns(3)
    with c1:
        widgets.tile("Median weekly hours", summary.median_weekly_hours, "hours")
    with c2:
        widgets.tile("Weeks meeting the dose target", summary.dose_target_met_rate, "rate")
    with c3:
        widgets.tile("Complete episode-weeks", summary.episode_weeks, "count", higher_is_better=None)
    hist = data.query(ctx, dosage.weekly_hours_distribution)
    if not hist.empty:
        # One line per distinct target (adult 9 h, adolescent 6 h), labelled by the programs using it.
        by_hours: dict[float, list[str]] = {}
        for program, h in summary.target_hours.items():
            by_hours.setdefault(h, []).append(program)
        targets = {f"ASAM 2.1: {h:g} h ({', '.join(ps)})" if len(ps) < 3 else f"ASAM 2.1: {h:g} h": h
                   for h, ps in by_hours.items()}

        def build():
            fig = figures.histogram_bins(hist, "hours_from", "hours_to", "episode_weeks", color="program",
                                        title="Distribution of weekly attended hours per episode-week",
                                        x_title="Attended hours in the week (h)", y_title="Episode-weeks",
                                        targets=targets)
            fig.update_layout(legend_title_text="Program")
            return fig
        widgets.cached_chart(ctx, "att_dose_hist", build)
    by_week = data.query(ctx, dosage.dose_by_program_week)
    if not by_week.empty:

        def build():
            fig = figures.line_chart(by_week, x="week_number" if "week_number" in by_week.columns else by_week.columns[0],
                                    y="dose_target_met_rate", percent=True, hover_n="episode_weeks",
                                    names={"dose_target_met_rate": "Meeting the dose target"},
                                    target=_target("dose_target_met_rate"), target_label="QI target",
                                    title="Share of episode-weeks meeting the dose target, by program week",
                                    x_title="Program week", y_title="Episode-weeks meeting target (%)")
            fig.update_xaxes(dtick=1)
            return fig
        widgets.cached_chart(ctx, "att_dose_by_week", build)
    widgets.how_computed("weekly-dose")
    with st.expander("Tables"):
        if not by_week.empty:
            widgets.table(ctx, by_week, "dose_by_program_week", dosage.dose_by_program_week)
        if not hist.empty:
            widgets.table(ctx, hist, "weekly_hours_histogram", dosage.weekly_hours_distribution)


for section, name in ((headline, "Session rates"), (over_time, "Rates over time"), (by_dimension, "Rates by group"),
                      (minutes, "Minutes"), (dose, "Weekly dose")):
    widgets.guarded(section, name)

"""Access and early engagement: from first contact to the fourth day of care. Layout only;
the figures come from analytics.metrics.intake and analytics.qi.intake, the charts from
analytics.report.intake_figures and qi_figures."""
from __future__ import annotations

import streamlit as st

from analytics import formatting
from analytics.metrics import breakdowns, intake
from analytics.privacy.suppression import suppression_of
from analytics.qi import intake as intake_qi
from analytics.qi.targets import status
from analytics.report import intake_figures, qi_figures
from ui import data, widgets
from ui.context import page_context

ctx = page_context()
st.title("Access and early engagement")
widgets.as_of_line(ctx)
st.caption("Referrals are selected by their own site, program and columns; the admission date filter applies to "
           "their first contact. Episodes are selected as on every other page.")


def headline() -> None:
    figures = data.query(ctx, intake.access_summary)  # an analyst's arrives suppressed
    cols = st.columns(4)
    with cols[0]:
        widgets.tile("Median wait", figures.median_wait_days, "days", higher_is_better=False,
                     status=status("median_wait_days", figures.median_wait_days),
                     help=f"First contact to the first attended session, over {formatting.number(figures.wait_measured)} "
                          "episodes with a known first contact")
    with cols[1]:
        widgets.tile("Continuation to day 4", figures.continuation_day_4, "rate",
                     status=status("continuation_day_4", figures.continuation_day_4),
                     help=f"Of {formatting.number(figures.continuation_eligible)} episodes admitted 28 or more days "
                          "ago: attended sessions on 4 distinct days in their first 28 (NIATx)")
    with cols[2]:
        widgets.tile("IET-style initiation", figures.initiation_rate, "rate",
                     help=f"Of {formatting.number(figures.iet_eligible)} eligible episodes: an attended session "
                          "within 14 days of first contact (or admission). Not the HEDIS measure.")
    with cols[3]:
        widgets.tile("IET-style engagement", figures.engagement_rate, "rate",
                     help="Initiated, and attended on 2 more days within the next 34. Not the HEDIS measure.")
    cols = st.columns(4)
    with cols[0]:
        widgets.tile("Referrals", figures.referrals, higher_is_better=None,
                     help="Requests for service with a first contact in the selection, up to the data date")
    with cols[1]:
        widgets.tile("Admission rate", figures.admission_rate, "rate",
                     help=f"Admitted of {formatting.number(figures.decided)} referrals no longer pending")
    with cols[2]:
        widgets.tile("Still pending", figures.pending, higher_is_better=None,
                     help="Referrals with no outcome yet on the data date (an admission after it counts as pending)")
    with cols[3]:
        widgets.tile("Median days to intake assessment", figures.median_days_to_intake_assessment, "days",
                     higher_is_better=False,
                     help=f"Over {formatting.number(figures.intake_assessed)} referrals with an intake assessment")
    widgets.how_computed("access-and-early-engagement")


def contact_path() -> None:
    st.subheader("From first contact to the fourth day of care")
    wide = data.query(ctx, intake.contact_funnel)
    steps = intake.funnel_steps(widgets.with_markers(wide))
    if wide.empty or steps["referrals"].iloc[0] == 0:
        widgets.note_empty("No referral in this selection had its first contact 28 or more days before the data date.")
        return
    widgets.cached_chart(ctx, "acc_path", lambda: intake_figures.contact_funnel_figure(steps))
    widgets.how_computed("from-first-contact-to-the-fourth-day-of-care")
    with st.expander("Table"):
        widgets.table(ctx, steps, "contact_path", intake.contact_funnel, export=lambda: intake.funnel_steps(
            suppression_of(intake.contact_funnel).apply(widgets.with_markers(wide))))


def outcomes() -> None:
    st.subheader("Referral outcomes by month of first contact")
    wide = data.query(ctx, intake.outcomes_by_month)
    if wide.empty:
        widgets.note_empty("No referral in this selection.")
        return
    widgets.cached_chart(ctx, "acc_outcomes", lambda: intake_figures.outcomes_by_month_figure(wide))
    widgets.how_computed("referral-outcomes-and-admission-rate")
    with st.expander("Table"):
        widgets.table(ctx, wide, "referral_outcomes_by_month", intake.outcomes_by_month)


def admission_rates() -> None:
    st.subheader("Admission rate compared, within each program")
    choices = data.query(ctx, breakdowns.referral_dimensions)
    default = choices.index("referral_source") if "referral_source" in choices else 0
    dimension = st.selectbox("Compare by", choices, index=default, key="acc_funnel_by",
                             format_func=lambda d: d.replace("_", " ").capitalize())
    plots = data.query(ctx, intake_qi.admission_funnels, dimension)
    if not plots:
        widgets.note_empty("No referral in this selection has an outcome yet.")
        return
    cols = st.columns(min(2, len(plots)))
    for i, (program, plot) in enumerate(sorted(plots.items())):
        with cols[i % len(cols)]:
            if plot.points.empty:
                widgets.note_empty(f"{program}: every unit is hidden by small-cell suppression."
                                   if plot.outliers else f"{program}: no referral has an outcome yet.")
            else:
                widgets.cached_chart(ctx, f"acc_funnel_{i}",
                                     lambda plot=plot: qi_figures.funnel_figure(plot, "admission_rate"),
                                     dimension, program)
            if plot.outliers:
                # Unit names come from imported files: plain text only.
                st.text("Beyond the limits:\n" + "\n".join(f"• {o}" for o in plot.outliers))
            elif not plot.points.empty:
                st.caption("Every unit lies within the 95% limits: differences are what chance would give.")
    widgets.how_computed("admission-rate-funnel-plots", "docs/qi.md")


def waits() -> None:
    st.subheader("Waits from first contact to care")
    bins = data.query(ctx, intake.wait_distribution)
    months = data.query(ctx, intake.waits_by_month)
    if months.empty:
        widgets.note_empty("No episode in this selection has a known first contact and an attended session.")
        return
    left, right = st.columns(2)
    with left:
        widgets.cached_chart(ctx, "acc_wait_bins", lambda: intake_figures.wait_distribution_figure(bins))
    with right:
        widgets.cached_chart(ctx, "acc_wait_months", lambda: intake_figures.waits_by_month_figure(months))
        st.caption("A recent month still lacks its longest waits: those people have not started yet.")
    widgets.how_computed("first-contact-and-wait")
    with st.expander("Tables"):
        widgets.table(ctx, bins[["label", "from_days", "to_days", "episodes"]], "wait_distribution",
                      intake.wait_distribution)
        widgets.table(ctx, months, "wait_by_month", intake.waits_by_month)


def continuation() -> None:
    st.subheader("Continuation in the first 28 days")
    dimension = st.radio("By", ["site", "program"], key="acc_cont_by", horizontal=True, format_func=str.capitalize)
    table = data.query(ctx, intake.continuation_by, dimension)
    if table.empty:
        widgets.note_empty("No episode in this selection was admitted 28 or more days before the data date.")
        return
    widgets.cached_chart(ctx, "acc_continuation",
                         lambda: intake_figures.continuation_figure(table, dimension), dimension)
    widgets.how_computed("continuation-niatx")
    with st.expander("Table"):
        widgets.table(ctx, table, f"continuation_by_{dimension}", intake.continuation_by, dimension)


def initiation_engagement() -> None:
    st.subheader("IET-style initiation and engagement (not the HEDIS measure)")
    months = data.query(ctx, intake.iet_by_month)
    if months.empty:
        widgets.note_empty("No episode in this selection has been followed 47 days from its first contact or "
                           "admission.")
        return
    widgets.cached_chart(ctx, "acc_iet", lambda: intake_figures.iet_trend_figure(months))
    widgets.how_computed("initiation-and-engagement-iet-style")
    with st.expander("Table"):
        widgets.table(ctx, months, "iet_by_month", intake.iet_by_month)


for section, name in ((headline, "Headline figures"), (contact_path, "From first contact to day 4"),
                      (outcomes, "Referral outcomes"), (admission_rates, "Admission rate funnel plots"),
                      (waits, "Waits"), (continuation, "Continuation"),
                      (initiation_engagement, "Initiation and engagement")):
    widgets.guarded(section, name)

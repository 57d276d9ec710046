"""QI meeting: control charts with signals, interventions, funnel plots, the month compared,
the at-risk list and the meeting packet. Layout only: analytics.qi (spc, funnel, periods,
atrisk, interventions) computes everything, analytics.report draws and tabulates it."""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from analytics.config import headline_instrument
from analytics.metrics import measures
from analytics.qi import atrisk, funnel, intake, interventions, periods, spc
from analytics.qi.targets import dose_hours_target
from analytics.report import packet, qi_figures, qi_tables
from ui import auth, data, widgets
from ui.context import page_context

ctx = page_context()
st.title("QI meeting")
widgets.as_of_line(ctx)

CHART_GROUPS = {
    "Monthly": ("attendance_month", "no_show_month", "completion_month", "retention_week_4_month",
                "median_hours_month"),
    "Weekly": ("attendance_week", "no_show_week"),
}


def chart_settings() -> tuple[date | None, date | None, bool]:
    """(baseline start, baseline end, Laney p′) as set above the control charts."""
    baseline = st.session_state.get("qi_baseline") or ()
    start = baseline[0] if len(baseline) >= 1 else None
    end = baseline[1] if len(baseline) >= 2 else None
    return start, end, bool(st.session_state.get("qi_laney", True))


def control_charts() -> None:
    st.subheader("Control charts")
    c1, c2, c3 = st.columns([2, 2, 1])
    lo, hi = ctx.options.admit_min or ctx.as_of, ctx.as_of
    c1.date_input("Baseline for the limits (from, to)", value=(), min_value=lo, max_value=hi,
                  key="qi_baseline", help="Limits are computed from the points in this period; "
                  "later points are judged against them. Empty: every point.")
    grain = c2.radio("Session charts", list(CHART_GROUPS), key="qi_grain", horizontal=True)
    c3.toggle("Laney p′", value=True, key="qi_laney",
              help="Widen the limits of the session charts for overdispersion (large denominators), "
                   "so busy programs are not flagged for noise.")
    start, end, laney = chart_settings()
    chart_set = data.query(ctx, spc.standard_charts, baseline_start=start, baseline_end=end, laney=laney)
    keys = CHART_GROUPS[grain] if grain == "Weekly" else CHART_GROUPS["Monthly"]
    hours = dose_hours_target(ctx.filters.programs or ctx.options.programs)
    chart_grid(chart_set, keys, spc.standard_charts, "control_chart_points", start, end, laney,
               target_of=lambda key: hours if key == "median_hours_month" else None)


def chart_grid(chart_set: dict, keys, source, table_name: str, *params, target_of=lambda key: None,
               note_when_empty: bool = False) -> None:
    """The charts named in keys, two a row, each with its signals; the definition; and the
    points as a table. source made chart_set (its suppression applies to the download);
    params are the controls the charts depend on; note_when_empty: a chart with no point
    is a plain note instead of an empty frame."""
    recorded = data.query(ctx, interventions.list_interventions)
    for i in range(0, len(keys), 2):
        cols = st.columns(2)
        for col, key in zip(cols, keys[i:i + 2]):
            chart = chart_set[key]  # an analyst's arrives suppressed (ui.suppressed)
            target = target_of(key)
            with col:
                if chart.empty and note_when_empty:
                    widgets.note_empty(f"{chart.title}: no month can be judged yet for this selection.")
                    continue
                widgets.cached_chart(
                    ctx, f"qi_{key}",
                    lambda chart=chart, target=target: qi_figures.control_chart_figure(chart, recorded, target=target),
                    *params,
                )
                if chart.signals:
                    # Signals hold period labels and figures only; st.text keeps them literal.
                    st.text("Signals:\n" + "\n".join(f"• {s}" for s in chart.signals))
                elif not chart.empty:
                    st.caption("No special-cause signal: the points vary within the limits.")
    widgets.how_computed("control-charts", "docs/qi.md")
    with st.expander("Chart data"):
        table = qi_tables.chart_points(chart_set, keys)
        if table is not None:
            widgets.table(ctx, table, table_name, source,
                          export=lambda: qi_tables.chart_points(chart_set, keys, suppress=True, source=source))


def interventions_form() -> None:
    st.subheader("Interventions")
    listed = data.query(ctx, interventions.list_interventions)
    if listed.empty:
        st.caption("No intervention recorded yet for this selection.")
    else:
        # Titles and notes are staff text: a table, never markdown.
        st.dataframe(listed[["on_date", "title", "note", "site", "program", "recorded_by"]], hide_index=True,
                     width="stretch", column_config={"on_date": st.column_config.DateColumn("Date")})
    if ctx.scope.role == "analyst":
        return
    with st.form("qi_intervention", clear_on_submit=True):
        st.caption("Record a change the team made, so every control chart marks it.")
        c1, c2 = st.columns([1, 3])
        on = c1.date_input("Date", value=ctx.as_of or date.today(), key="qi_iv_date")
        title = c2.text_input("What changed", max_chars=120, placeholder="e.g. started text reminders",
                              key="qi_iv_title")
        note = st.text_area("Note (optional)", max_chars=2000, key="qi_iv_note")
        c3, c4 = st.columns(2)
        site = c3.selectbox("Site", ("All sites",) + ctx.options.sites, key="qi_iv_site")
        program = c4.selectbox("Program", ("All programs",) + ctx.options.programs, key="qi_iv_program")
        if st.form_submit_button("Record intervention"):
            if not (title or "").strip():
                st.warning("Give the intervention a short title.")
                return
            try:
                interventions.record_intervention(
                    ctx.store, on, title, note, None if site == "All sites" else site,
                    None if program == "All programs" else program, actor=auth.current_actor())
            except ValueError as exc:
                st.warning(str(exc))
                return
            st.rerun()


def funnel_plots() -> None:
    st.subheader("Funnel plots: sites and clinicians compared within each program")
    c1, c2 = st.columns(2)
    measure = c1.selectbox("Measure", list(funnel.MEASURES), format_func=lambda m: funnel.MEASURES[m].title,
                           key="qi_funnel_measure")
    unit = c2.radio("Compare", list(funnel.UNITS), format_func=str.capitalize, key="qi_funnel_unit",
                    horizontal=True)
    plots = data.query(ctx, funnel.funnels, measure, unit)
    if not plots:
        widgets.note_empty("No program in this selection has any volume for this measure.")
        return
    cols = st.columns(min(2, len(plots)))
    for i, (program, plot) in enumerate(sorted(plots.items())):
        with cols[i % len(cols)]:
            widgets.cached_chart(ctx, f"qi_funnel_{i}", lambda plot=plot: qi_figures.funnel_figure(plot, measure),
                                 measure, unit, program)
            if plot.outliers:
                # Unit names come from imported files: plain text only.
                st.text("Beyond the limits:\n" + "\n".join(f"• {o}" for o in plot.outliers))
            else:
                st.caption("Every unit lies within the 95% limits: differences are what chance would give.")
    widgets.how_computed("funnel-plots", "docs/qi.md")
    table = qi_tables.funnel_units(plots)
    if table is not None:
        with st.expander("Table (alphabetical, not a ranking)"):
            widgets.table(ctx, table, f"funnel_{measure}_by_{unit}", funnel.funnels, measure, unit)


def measurement_based_care() -> None:
    st.subheader("Measurement-based care")
    if not data.query(ctx, measures.store_has_scores):
        st.caption("No assessment scores imported yet: measurement completion and reliable improvement appear "
                   "once an assessments export is imported.")
        return
    choices = dict(data.query(ctx, measures.instrument_choices))
    names = list(choices)
    default = headline_instrument() if headline_instrument() in names else names[0]
    name = st.selectbox("Instrument", names, index=names.index(default), format_func=choices.get,
                        key="qi_mbc_instrument")
    start, end, laney = chart_settings()
    chart = data.query(ctx, spc.measurement_completion_chart, name, baseline_start=start, baseline_end=end,
                       laney=laney)
    recorded = data.query(ctx, interventions.list_interventions)
    cols = st.columns(2)
    with cols[0]:
        widgets.cached_chart(ctx, "qi_mbc_completion",
                             lambda: qi_figures.control_chart_figure(chart, recorded), name, start, end, laney)
        if chart.signals:
            st.text("Signals:\n" + "\n".join(f"• {s}" for s in chart.signals))
        elif not chart.empty:
            st.caption("No special-cause signal: the points vary within the limits.")
    definition = data.query(ctx, measures.instrument_definition, name)
    with cols[1]:
        if definition.reliable_change is None:
            st.info(f"{definition.label} has no reliable change configured, so it has no reliable improvement funnel.")
            plots = {}
        else:
            plots = data.query(ctx, funnel.reliable_improvement_funnels, name)
            if not plots:
                widgets.note_empty("No pair of scores in this selection.")
            for i, (program, plot) in enumerate(sorted(plots.items())):
                widgets.cached_chart(ctx, f"qi_mbc_funnel_{i}",
                                     lambda plot=plot: qi_figures.funnel_figure(plot, funnel.RELIABLE_IMPROVEMENT),
                                     name, program)
                if plot.outliers:
                    st.text("Beyond the limits:\n" + "\n".join(f"• {o}" for o in plot.outliers))
    widgets.how_computed("control-charts", "docs/qi.md")
    table = qi_tables.funnel_units(plots)
    if table is not None:
        with st.expander("Reliable improvement by site (alphabetical, not a ranking)"):
            widgets.table(ctx, table, f"funnel_reliable_improvement_{name}", funnel.reliable_improvement_funnels, name)


def period_comparison() -> None:
    st.subheader("Last complete month compared")
    comparison = data.query(ctx, periods.compare_months)  # an analyst's arrives suppressed
    if comparison.months:
        st.caption("Months: " + ", ".join(f"{k}: {v:%b %Y}" for k, v in comparison.months.items()))
    text = qi_tables.comparison_text(periods.comparison_table(comparison))
    st.dataframe(pd.DataFrame({
        "Measure": text["label"],
        "Last complete month": text["this_month"],
        "Month before": text["previous_month"],
        "Change": text["change_vs_previous"],
        "Same month last year": text["same_month_last_year"],
        "Change vs last year": text["change_vs_last_year"],
    }), hide_index=True, width="stretch")
    # The CSV carries the packet's suppressed figures whatever the role.
    widgets.download_table(ctx, periods.comparison_table(comparison), "period_comparison", periods.compare_months,
                           export=lambda: periods.comparison_table(comparison, suppress=True))
    widgets.how_computed("period-comparison", "docs/qi.md")


def access_charts() -> None:
    st.subheader("Access and early engagement")
    st.caption("The wait, NIATx continuation and IET-style engagement (not HEDIS), with the baseline set above. "
               "A month is charted once all of it can be judged.")
    start, end, _ = chart_settings()
    chart_set = data.query(ctx, intake.access_charts, baseline_start=start, baseline_end=end)
    chart_grid(chart_set, list(chart_set), intake.access_charts, "access_chart_points", start, end,
               note_when_empty=True)


def at_risk() -> None:
    st.subheader("At-risk list (for outreach)")
    if not ctx.scope.patient_level:
        st.info("Your role sees aggregate figures only, so the at-risk list is not shown.")
        return
    st.caption("Patients in active episodes who missed their last 2 or more expected sessions in a row, attended "
               "less than half of their expected sessions in the last 14 days, fell below the dose target in "
               "each of their last 2 complete weeks, got reliably worse on an instrument since baseline, had a "
               "positive drug screen after two negative ones, or were admitted 7 or more days ago with no attended "
               "session. Pseudonymous ids only. This list is not downloadable and "
               "is not in the meeting packet. Each view is recorded in the audit log.")
    if not st.toggle("Show the at-risk list", key="qi_show_atrisk"):
        return
    rows = data.audited_view(ctx, atrisk.at_risk_list, "_qi_atrisk")
    if rows.empty:
        st.success("No patient in an active episode meets the at-risk rules today.")
        return
    widgets.chart(qi_figures.at_risk_figure(atrisk.bucket_counts(rows)), "qi_atrisk_buckets")
    widgets.static_table(rows.rename(columns={"days_since_attended": "days since attended"}))


def meeting_packet() -> None:
    st.subheader("Meeting packet")
    start, end, laney = chart_settings()
    actor = auth.current_actor()

    def download(kind: str) -> bytes:
        return packet.packet_download(ctx.store, ctx.filters, ctx.scope, kind, generated_by=actor,
                                      baseline_start=start, baseline_end=end, laney=laney)

    st.caption("A self-contained report of this page's filters for the meeting: key figures with targets, control "
               "charts with signals, funnel plots, retention, dose and mix, and the definitions. Small counts are "
               "suppressed (shown as <11); the at-risk list is never included. Building it takes a few seconds.")
    name = f"qi_packet_{ctx.as_of}"
    c1, c2 = st.columns(2)
    c1.download_button("Download meeting packet (HTML)", data=lambda: download("html"), file_name=f"{name}.html",
                       mime="text/html", key="qi_packet_html", on_click="ignore", type="primary")
    c2.download_button("Download meeting packet (PDF)", data=lambda: download("pdf"), file_name=f"{name}.pdf",
                       mime="application/pdf", key="qi_packet_pdf", on_click="ignore")


for section, name in ((control_charts, "Control charts"), (interventions_form, "Interventions"),
                      (funnel_plots, "Funnel plots"), (measurement_based_care, "Measurement-based care"),
                      (period_comparison, "Period comparison"), (access_charts, "Access control charts"),
                      (at_risk, "At-risk list"), (meeting_packet, "Meeting packet")):
    widgets.guarded(section, name)

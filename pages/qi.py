"""QI meeting: control charts with signals, interventions, funnel plots, the month compared,
the at-risk list and the meeting packet. Layout only: analytics.qi.spc, funnel, periods,
atrisk, interventions and report compute everything."""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.report import figures
from analytics.privacy.suppression import RateSpec, SuppressionSpec
from ui import auth, data, widgets
from ui.context import page_context

ctx = page_context()
st.title("QI meeting")
widgets.as_of_line(ctx)

SUPPRESSED = ctx.scope.suppressed_only  # analysts see what the packet shows
CHART_GROUPS = {
    "Monthly": ("attendance_month", "no_show_month", "completion_month", "retention_week_4_month",
                "median_hours_month"),
    "Weekly": ("attendance_week", "no_show_week"),
}
FUNNEL_MEASURES = {"attendance_rate": "Attendance rate", "completion_rate": "Completion rate",
                   "retention_week_4": "Retention at week 4"}


def _needs(*names: str) -> bool:
    """True when the teammates' QI functions are there; otherwise a plain note."""
    missing = [n for n in names if not data.available(n)]
    if missing:
        st.info("This part of the QI toolkit is not available yet in this version.")
    return not missing


def control_charts() -> None:
    st.subheader("Control charts")
    if not _needs("spc:standard_charts", "charts_qi:control_chart_figure", "interventions:list_interventions"):
        return
    c1, c2, c3 = st.columns([2, 2, 1])
    lo, hi = ctx.options.admit_min or ctx.as_of, ctx.as_of
    baseline = c1.date_input("Baseline for the limits (from, to)", value=(), min_value=lo, max_value=hi,
                             key="qi_baseline", help="Limits are computed from the points in this period; "
                             "later points are judged against them. Empty: every point.")
    grain = c2.radio("Session charts", list(CHART_GROUPS), key="qi_grain", horizontal=True)
    laney = c3.toggle("Laney p′", value=True, key="qi_laney",
                      help="Widen the limits of the session charts for overdispersion (large denominators), "
                           "so busy programs are not flagged for noise.")
    start = baseline[0] if len(baseline) >= 1 else None
    end = baseline[1] if len(baseline) >= 2 else None
    chart_set = data.query(ctx, "spc:standard_charts", baseline_start=start, baseline_end=end, laney=laney)
    interventions = data.query(ctx, "interventions:list_interventions")
    from analytics.report import qi_figures
    from analytics.qi.targets import dose_hours_target

    keys = CHART_GROUPS[grain] if grain == "Weekly" else CHART_GROUPS["Monthly"]
    for i in range(0, len(keys), 2):
        cols = st.columns(2)
        for col, key in zip(cols, keys[i:i + 2]):
            chart = chart_set[key]  # an analyst's arrives suppressed (ui.suppressed)
            target = dose_hours_target(ctx.filters.programs or ctx.options.programs) if key == "median_hours_month" else None
            with col:
                widgets.cached_chart(
                    ctx, f"qi_{key}",
                    lambda chart=chart, target=target: qi_figures.control_chart_figure(chart, interventions, target=target),
                    start, end, laney,
                )
                if chart.signals:
                    # Signals hold period labels and figures only; st.text keeps them literal.
                    st.text("Signals:\n" + "\n".join(f"• {s}" for s in chart.signals))
                elif not chart.empty:
                    st.caption("No special-cause signal: the points vary within the limits.")
    widgets.how_computed(
        "**p-chart**: each point is a proportion (e.g. attended / expected sessions in a month). The centre "
        "line is the baseline's overall proportion p̄; the limits are p̄ ± 3·√(p̄(1−p̄)/n) for each point's n. "
        "**Laney p′** multiplies that spread by σz, the average moving range of the baseline's standardised "
        "points / 1.128, for large denominators. **XmR** (median weekly hours): centre = baseline mean, "
        "limits = centre ± 2.66 × mean moving range. **Signals**: a point beyond a 3-sigma limit, or 8 or more "
        "points in a row on one side of the centre line (a shift). Retention at week 4 includes only cohorts "
        "admitted at least 28 days before the data date. Triangles mark recorded interventions.",
        "control-charts-analyticsspcpy", "docs/qi.md")
    with st.expander("Chart data"):
        frames = []
        for key in keys:
            pts = chart_set[key].points
            if not pts.empty:
                frames.append(pts.assign(chart=key)[["chart", "label", "x", "n", "value", "cl", "lcl", "ucl",
                                                    "signal", *(["patients"] if "patients" in pts else [])]])
        if frames:
            table = pd.concat(frames, ignore_index=True)
            widgets.table(ctx, table, "control_chart_points",
                          SuppressionSpec(rates=(RateSpec("value"),), group_size="patients", column_totals=False))


def interventions_form() -> None:
    st.subheader("Interventions")
    if not _needs("interventions:record_intervention", "interventions:list_interventions"):
        return
    listed = data.query(ctx, "interventions:list_interventions")
    if listed.empty:
        st.caption("No intervention recorded yet for this selection.")
    else:
        # Titles and notes are staff text: a table, never markdown.
        st.dataframe(listed[["on_date", "title", "note", "site", "program", "recorded_by"]], hide_index=True,
                     width="stretch", column_config={"on_date": st.column_config.DateColumn("Date")})
    if ctx.scope.role == "analyst":
        return
    from analytics.qi.interventions import record_intervention

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
                record_intervention(ctx.store, on, title, note, None if site == "All sites" else site,
                                    None if program == "All programs" else program, actor=auth.current_actor())
            except ValueError as exc:
                st.warning(str(exc))
                return
            st.rerun()


def funnel_plots() -> None:
    st.subheader("Funnel plots: sites and clinicians compared within each program")
    if not _needs("funnel:funnels", "charts_qi:funnel_figure"):
        return
    from analytics.report import qi_figures

    c1, c2 = st.columns(2)
    measure = c1.selectbox("Measure", list(FUNNEL_MEASURES), format_func=FUNNEL_MEASURES.get, key="qi_funnel_measure")
    unit = c2.radio("Compare", ["site", "clinician"], format_func=str.capitalize, key="qi_funnel_unit",
                    horizontal=True)
    plots = data.query(ctx, "funnel:funnels", measure, unit)
    if not plots:
        widgets.note_empty("No program in this selection has any volume for this measure.")
        return
    frames = []
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
        if not plot.points.empty:
            frames.append(plot.points.assign(program=program))
    widgets.how_computed(
        "Each point is a site or clinician: its rate (y) against its volume (x). The lines are the 95% and "
        "99.8% limits around the program's overall rate p₀: p₀ ± z·√(p₀(1−p₀)/n). They widen for small "
        "volumes, where chance alone moves a rate a lot. A point outside the 99.8% limits is unlikely to be "
        "chance. Session measures belong to the session's clinician; completion and retention to the "
        "episode's primary clinician (most attended minutes). Programs are never pooled.",
        "funnel-plots-analyticsfunnelpy", "docs/qi.md")
    if frames:
        table = pd.concat(frames, ignore_index=True)
        keep = [c for c in ("program", "unit", "x", "n", "p", "lo95", "hi95", "lo998", "hi998", "flag", "patients")
                if c in table.columns]
        with st.expander("Table (alphabetical, not a ranking)"):
            person = measure != "attendance_rate"
            widgets.table(ctx, table[keep].sort_values(["program", "unit"]), f"funnel_{measure}_by_{unit}",
                          SuppressionSpec(counts=("x", "n") if person else (),
                                          rates=(RateSpec("p", "x", "n") if person else RateSpec("p"),),
                                          group_size="patients", column_totals=False))


def period_comparison() -> None:
    st.subheader("Last complete month compared")
    if not _needs("periods:compare_months", "periods:comparison_table"):
        return
    from analytics.qi.periods import comparison_table

    comparison = data.query(ctx, "periods:compare_months")
    table = comparison_table(comparison, suppress=SUPPRESSED)
    months = getattr(comparison, "months", None)
    if months:
        st.caption("Months: " + ", ".join(f"{k}: {v:%b %Y}" if hasattr(v, "strftime") else f"{k}: {v}"
                                          for k, v in (months.items() if isinstance(months, dict) else [])))
    rate_kpis = {k for k in table["kpi"] if k.endswith("_rate") or k.startswith("retention")}

    def fmt(kpi: str, v: object, change: bool = False) -> str:
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return "—"
        if isinstance(v, str):
            return v
        if kpi in rate_kpis:
            return f"{100 * v:+.1f} pts" if change else f"{100 * v:.1f}%"
        return f"{v:+,.0f}" if change else f"{v:,.0f}"

    shown = pd.DataFrame({
        "Measure": table["label"],
        "Last complete month": [fmt(k, v) for k, v in zip(table["kpi"], table["this_month"])],
        "Month before": [fmt(k, v) for k, v in zip(table["kpi"], table["previous_month"])],
        "Change": [fmt(k, v, True) for k, v in zip(table["kpi"], table["change_vs_previous"])],
        "Same month last year": [fmt(k, v) for k, v in zip(table["kpi"], table["same_month_last_year"])],
        "Change vs last year": [fmt(k, v, True) for k, v in zip(table["kpi"], table["change_vs_last_year"])],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    # The CSV carries the packet's suppressed figures whatever the role.
    widgets.download_table(ctx, comparison_table(comparison, suppress=True), "period_comparison",
                           SuppressionSpec(column_totals=False))
    widgets.how_computed(
        "The last month that has ended by the data date, against the month before and the same month a year "
        "earlier. Counts and session rates are for the month itself; completion is for discharges in the "
        "month; retention is for the cohort admitted in the month, as far as it has been followed.",
        "period-comparison-analyticsperiodspy", "docs/qi.md")


def at_risk() -> None:
    st.subheader("At-risk list (for outreach)")
    if not _needs("atrisk:at_risk_list", "atrisk:bucket_counts"):
        return
    if not ctx.scope.patient_level:
        st.info("Your role sees aggregate figures only, so the at-risk list is not shown.")
        return
    st.caption("Patients in active episodes who missed their last 2 or more expected sessions in a row, attended "
               "less than half of their expected sessions in the last 14 days, or fell below the dose target in "
               "each of their last 2 complete weeks. Pseudonymous ids only. This list is not downloadable and "
               "is not in the meeting packet. Each view is recorded in the audit log.")
    if not st.toggle("Show the at-risk list", key="qi_show_atrisk"):
        return
    from analytics.qi.atrisk import at_risk_list, bucket_counts

    # One audited view per session and filter set: reruns reuse this session's copy.
    view_key = (ctx.data_version, ctx.filters, ctx.scope)
    kept = st.session_state.get("_qi_atrisk")
    if kept is None or kept[0] != view_key:
        kept = (view_key, at_risk_list(ctx.store, ctx.filters, ctx.scope))
        st.session_state["_qi_atrisk"] = kept
    rows = kept[1]
    if rows.empty:
        st.success("No patient in an active episode meets the at-risk rules today.")
        return
    counts = bucket_counts(rows)
    fig = figures.bar_chart(counts, x="bucket", y="episodes", category_order=list(counts["bucket"]),
                           names={"episodes": "Episodes"}, title="At-risk episodes by days since last attendance",
                           x_title="Days since last attended session", y_title="Episodes", height=300)
    fig.update_layout(showlegend=False)
    widgets.chart(fig, "qi_atrisk_buckets")
    # st.table: static, with no download control (st.dataframe's toolbar offers CSV). It renders
    # markdown in cells, so every text cell (ids, site and program names) is escaped first.
    shown = rows.rename(columns={"days_since_attended": "days since attended"}).copy()
    for col in shown.columns:
        if shown[col].dtype == object:
            shown[col] = shown[col].map(lambda v: v if v is None else widgets.md_escape(v))
    st.table(shown)


def meeting_packet() -> None:
    st.subheader("Meeting packet")
    if not _needs("report:build_report_html", "report:write_pdf", "report:record_report"):
        return
    from analytics.report import packet as report

    baseline = st.session_state.get("qi_baseline") or ()
    start = baseline[0] if len(baseline) >= 1 else None
    end = baseline[1] if len(baseline) >= 2 else None
    laney = bool(st.session_state.get("qi_laney", True))
    actor = auth.current_actor()

    def packet_html() -> str:
        return report.build_report_html(ctx.store, ctx.filters, ctx.scope, generated_by=actor,
                                        baseline_start=start, baseline_end=end, laney=laney)

    def html_bytes() -> bytes:
        text = packet_html()
        report.record_report(ctx.store, ctx.scope, ctx.filters, {"html": "download"}, text)
        return text.encode("utf-8")

    def pdf_bytes() -> bytes:
        text = packet_html()
        with tempfile.TemporaryDirectory(prefix="iop-packet-") as tmp:
            out = Path(tmp) / "packet.pdf"
            report.write_pdf(text, out)
            report.record_report(ctx.store, ctx.scope, ctx.filters, {"pdf": "download"}, text)
            return out.read_bytes()

    st.caption("A self-contained report of this page's filters for the meeting: key figures with targets, control "
               "charts with signals, funnel plots, retention, dose and mix, and the definitions. Small counts are "
               "suppressed (shown as <11); the at-risk list is never included. Building it takes a few seconds.")
    name = f"qi_packet_{ctx.as_of}"
    c1, c2 = st.columns(2)
    c1.download_button("Download meeting packet (HTML)", data=html_bytes, file_name=f"{name}.html",
                       mime="text/html", key="qi_packet_html", on_click="ignore", type="primary")
    c2.download_button("Download meeting packet (PDF)", data=pdf_bytes, file_name=f"{name}.pdf",
                       mime="application/pdf", key="qi_packet_pdf", on_click="ignore")


for section, name in ((control_charts, "Control charts"), (interventions_form, "Interventions"),
                      (funnel_plots, "Funnel plots"), (period_comparison, "Period comparison"),
                      (at_risk, "At-risk list"), (meeting_packet, "Meeting packet")):
    widgets.guarded(section, name)

"""Overview: the headline figures against the previous period, monthly trends, target status.

Layout only: the figures come from analytics.metrics.summary (one definition
per metric), outcomes.period_counts, and the monthly breakdowns.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from analytics.report import figures
from analytics.qi.targets import status, target_for
from ui import data, widgets
from ui.context import page_context

ctx = page_context()
st.title("IOP outcomes overview")
widgets.as_of_line(ctx)

WINDOWS = {"Last 3 months": 91, "Last 6 months": 182, "Last 12 months": 365}


def _window() -> tuple[date, date, str]:
    """The period the tiles describe: the admission date filter if set, else a recent window."""
    f = ctx.filters
    if f.admitted_from or f.admitted_to:
        start = f.admitted_from or ctx.options.admit_min
        end = f.admitted_to or ctx.as_of
        return start, end, "the admission date range"
    choice = st.segmented_control("Period", list(WINDOWS), default="Last 12 months", key="ov_window")
    days = WINDOWS.get(choice or "Last 12 months")
    end = ctx.as_of
    return end - timedelta(days=days - 1), end, (choice or "Last 12 months").lower()


def lag_flag() -> None:
    """Sites whose data stop well before as_of: their recent weeks would read as missed sessions."""
    sites_only = replace(ctx.filters, admitted_from=None, admitted_to=None)
    lag = data.query(ctx, "coverage:site_last_dates", filters=sites_only)
    late = lag[lag["lagging"]]
    if late.empty:
        return
    st.warning(
        f"{len(late)} site(s) have no sessions recorded in the last weeks before the data date, probably a "
        "missing export. Their recent figures would read as missed sessions. See the Data page for details."
    )
    # Site names come from imported files: a table, never markdown.
    st.dataframe(late[["site", "last_session", "lag_days"]].rename(
        columns={"site": "Site", "last_session": "Last session", "lag_days": "Days before data date"}),
        hide_index=True, width="content", column_config={"Last session": st.column_config.DateColumn()})


def _suppressed(summary, filters):
    """The summary with every figure the packet would hide replaced by its '<11' marker."""
    from analytics.config import suppression_threshold
    from analytics.report.packet import suppressed_tiles
    from analytics.privacy.suppression import is_hidden

    shown = {t.key: t.value for t in suppressed_tiles(data.query(ctx, "report:kpi_values", filters=filters),
                                                       suppression_threshold())}
    hide = {k for k, v in shown.items() if is_hidden(v)}
    changes = {k: shown[k] for k in ("completion_rate", "attendance_rate", "no_show_rate", "dose_target_met_rate",
                                      "median_weekly_hours") if k in hide}
    if "completion_rate" in hide:
        changes["median_los_days"] = shown["completion_rate"]  # the same discharged episodes
    retention = {k: shown.get(f"retention_{k}") if f"retention_{k}" in hide else v
                 for k, v in summary.retention.items()}
    return replace(summary, retention=retention, **changes)


def _suppressed_counts(counts):
    from analytics.privacy.suppression import SuppressionSpec, suppress_kpis

    fields = ("admissions", "discharges", "previous_admissions", "previous_discharges", "active_at_end",
              "active_at_previous_end")
    shown = suppress_kpis({f: getattr(counts, f) for f in fields},
                          SuppressionSpec(counts=fields, column_totals=False))
    return replace(counts, **shown)


def tiles() -> None:
    start, end, label = _window()
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    st.caption(f"Tiles: episodes admitted in {label} ({start:%d %b %Y} to {end:%d %b %Y}); the change is "
               f"against the {length} days before ({prev_start:%d %b %Y} to {prev_end:%d %b %Y}).")
    now = data.query(ctx, "metrics:summary", filters=replace(ctx.filters, admitted_from=start, admitted_to=end))
    before = data.query(ctx, "metrics:summary",
                        filters=replace(ctx.filters, admitted_from=prev_start, admitted_to=prev_end))
    sites_only = replace(ctx.filters, admitted_from=None, admitted_to=None)
    counts = data.query(ctx, "outcomes:period_counts", start, end, filters=sites_only)
    if now.episodes == 0:
        widgets.note_empty("No episodes were admitted in this period for the selected sites and programs.")
        return
    if ctx.scope.suppressed_only:
        # Analysts see what an export would show: small counts and the rates built on them read "<11".
        now = _suppressed(now, replace(ctx.filters, admitted_from=start, admitted_to=end))
        before = _suppressed(before, replace(ctx.filters, admitted_from=prev_start, admitted_to=prev_end))
        counts = _suppressed_counts(counts)

    row = st.columns(4)
    with row[0]:
        widgets.tile("Active census", counts.active_at_end, previous=counts.active_at_previous_end,
                     higher_is_better=None, help="Episodes in treatment on the last day of the period")
    with row[1]:
        widgets.tile("Admissions", counts.admissions, previous=counts.previous_admissions, higher_is_better=None)
    with row[2]:
        widgets.tile("Discharges", counts.discharges, previous=counts.previous_discharges, higher_is_better=None)
    with row[3]:
        widgets.tile("Completion rate", now.completion_rate, "rate", previous=before.completion_rate,
                     help="Completed / discharged episodes", status=status("completion_rate", now.completion_rate))
    row = st.columns(4)
    for col, week in zip(row, (4, 8, 12)):
        key = f"week_{week}"
        with col:
            value = now.retention.get(key)
            widgets.tile(f"Retention at week {week}", value, "rate", previous=before.retention.get(key),
                         help="Share without an unplanned discharge (patients still in treatment censored)",
                         status=status(f"retention_{key}", value))
    with row[3]:
        widgets.tile("Median time in program", now.median_los_days, "days", previous=before.median_los_days,
                     help="Discharged episodes, admission to discharge")
    row = st.columns(4)
    with row[0]:
        widgets.tile("Attendance rate", now.attendance_rate, "rate", previous=before.attendance_rate,
                     status=status("attendance_rate", now.attendance_rate))
    with row[1]:
        widgets.tile("No-show rate", now.no_show_rate, "rate", previous=before.no_show_rate, higher_is_better=False,
                     status=status("no_show_rate", now.no_show_rate))
    with row[2]:
        widgets.tile("Weeks meeting the dose target", now.dose_target_met_rate, "rate",
                     previous=before.dose_target_met_rate,
                     help="Complete episode-weeks at or above ASAM 2.1 hours (9 h adults, 6 h adolescents)",
                     status=status("dose_target_met_rate", now.dose_target_met_rate))
    with row[3]:
        widgets.tile("Median weekly hours", now.median_weekly_hours, "hours", previous=before.median_weekly_hours)
    targets = [t.describe(percent=True).replace("target:", f"{t.metric.replace('_', ' ')}:")
               for t in (target_for(m) for m in ("attendance_rate", "no_show_rate", "retention_week_4",
                                                  "dose_target_met_rate")) if t]
    st.caption("Targets (config/iop.toml): " + "; ".join(targets) + ". GREEN meets the target, AMBER misses it "
               "narrowly, RED misses it.")
    widgets.how_computed(
        "**Active census**: episodes admitted and not discharged on the period's last day. "
        "**Admissions / discharges**: episodes admitted / discharged in the period. "
        "**Completion rate** = completed / discharged episodes. "
        "**Retention at week w** = share without an unplanned discharge (dropped out or terminated) by day 7·w, "
        "patients still in treatment censored (Aalen-Johansen). "
        "**Attendance** = attended / expected sessions; **no-show** = no-shows / expected sessions "
        "(program cancellations are not expected sessions). "
        "**Dose target**: share of complete episode-weeks with attended hours at or above ASAM 2.1 "
        "(9 h adults, 6 h adolescents). Every tile except census, admissions and discharges counts the "
        "episodes admitted in the period, and their sessions.", "")


def trends() -> None:
    st.subheader("Monthly trends")
    by_month = data.query(ctx, "sessions:rates_by", "month")
    cohorts = data.query(ctx, "retention:cohort_retention")
    reasons = data.query(ctx, "outcomes:discharge_reasons_by_month")
    dose_cohort = data.query(ctx, "dose:dose_by", "cohort")
    panels: list[tuple[str, pd.DataFrame, str, str, bool, float | None]] = []
    if not cohorts.empty:
        adm = cohorts.drop_duplicates("cohort")[["cohort", "n"]].rename(columns={"cohort": "month"})
        panels.append(("Admissions by month", adm, "n", "Episodes admitted", False, None))
        wk4 = cohorts[(cohorts["week"] == 4) & ~cohorts["low_risk"].astype(bool)].rename(columns={"cohort": "month"})
        t = target_for("retention_week_4")
        panels.append(("Retention at week 4, by admission month", wk4, "retention", "Retained (%)", True,
                       t.value if t else None))
    if not reasons.empty:
        # skipna=False: a month with a hidden (suppressed) reason has no total to show.
        disc = reasons.groupby("month", as_index=False)["discharges"].agg(lambda s: s.sum(skipna=False))
        panels.append(("Discharges by month", disc, "discharges", "Episodes discharged", False, None))
        done = reasons[reasons["discharge_reason"] == "completed"][["month", "share"]]
        panels.append(("Completion rate, by discharge month", done, "share", "Completed (%)", True, None))
    if not by_month.empty:
        for col, title in (("attendance_rate", "Attendance rate"), ("no_show_rate", "No-show rate")):
            t = target_for(col)
            panels.append((f"{title} by month", by_month, col, f"{title} (%)", True, t.value if t else None))
    if not dose_cohort.empty:
        t = target_for("dose_target_met_rate")
        panels.append(("Weeks meeting the dose target, by admission month",
                       dose_cohort.rename(columns={"cohort": "month"}), "dose_target_met_rate", "Weeks meeting (%)",
                       True, t.value if t else None))
    if not panels:
        widgets.note_empty()
        return
    for i in range(0, len(panels), 3):
        cols = st.columns(3)
        for col, (title, df, y, y_title, pct, target) in zip(cols, panels[i:i + 3]):
            with col:
                recent = df.sort_values("month").tail(24)
                widgets.cached_chart(
                    ctx, f"ov_spark_{title}",
                    lambda recent=recent, y=y, title=title, y_title=y_title, pct=pct, target=target: figures.sparkline(
                        recent, "month", y, title=title, y_title=y_title, percent=pct, target=target),
                )
    widgets.how_computed(
        "The last 24 months of each figure, over the episodes the sidebar filters select. Admissions, "
        "retention and the dose share are grouped by admission month; discharges and completion by "
        "discharge month; attendance and no-shows by the month of the session. Dashed lines are targets. "
        "Retention cells resting on fewer than 10 episodes at risk are left out.", "")


widgets.guarded(lag_flag, "Data coverage check")
widgets.guarded(tiles, "Headline figures")
widgets.guarded(trends, "Monthly trends")

"""Overview: the headline figures against the previous period, monthly trends, target status.

Layout only: the tiles come from analytics.report.tiles.kpi_values (the packet's
tiles, from the functions that define each metric) and metrics.discharges.period_counts,
the trends from the monthly breakdowns.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from analytics.config import headline_instrument
from analytics.metrics import coverage, discharges, dose, measures, retention, sessions
from analytics.qi.targets import status, target_for
from analytics.report import figures, tiles as kpi
from ui import data, widgets
from ui.context import page_context
from ui.period import tile_period

ctx = page_context()
st.title("IOP outcomes overview")
widgets.as_of_line(ctx)

def _window() -> tuple[date, date, str]:
    """The period the tiles describe: the admission date filter if set, else a recent window."""
    chosen = tile_period(ctx, "ov_window")
    return chosen.start, chosen.end, chosen.label


def lag_flag() -> None:
    """Sites whose data stop well before as_of: their recent weeks would read as missed sessions."""
    sites_only = replace(ctx.filters, admitted_from=None, admitted_to=None)
    lag = data.query(ctx, coverage.site_last_dates, filters=sites_only)
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


def tiles() -> None:
    start, end, label = _window()
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    prev_start = prev_end - timedelta(days=length - 1)
    st.caption(f"Tiles: episodes admitted in {label} ({start:%d %b %Y} to {end:%d %b %Y}); the change is "
               f"against the {length} days before ({prev_start:%d %b %Y} to {prev_end:%d %b %Y}).")
    # An analyst's values arrive as the packet's tiles show them: small counts and the rates built on them "<11".
    now = data.query(ctx, kpi.kpi_values, filters=replace(ctx.filters, admitted_from=start, admitted_to=end))
    before = data.query(ctx, kpi.kpi_values, filters=replace(ctx.filters, admitted_from=prev_start, admitted_to=prev_end))
    sites_only = replace(ctx.filters, admitted_from=None, admitted_to=None)
    counts = data.query(ctx, discharges.period_counts, start, end, filters=sites_only)
    if now["episodes"] == 0:
        widgets.note_empty("No episodes were admitted in this period for the selected sites and programs.")
        return

    row = st.columns(4)
    with row[0]:
        widgets.tile("Active census", counts.active_at_end, previous=counts.active_at_previous_end,
                     higher_is_better=None, help="Episodes in treatment on the last day of the period")
    with row[1]:
        widgets.tile("Admissions", counts.admissions, previous=counts.previous_admissions, higher_is_better=None)
    with row[2]:
        widgets.tile("Discharges", counts.discharges, previous=counts.previous_discharges, higher_is_better=None)
    with row[3]:
        widgets.tile("Completion rate", now["completion_rate"], "rate", previous=before["completion_rate"],
                     help="Completed / discharged episodes", status=status("completion_rate", now["completion_rate"]))
    row = st.columns(4)
    for col, week in zip(row, (4, 8, 12)):
        key = f"retention_week_{week}"
        with col:
            widgets.tile(f"Retention at week {week}", now[key], "rate", previous=before[key],
                         help="Share without an unplanned discharge (patients still in treatment censored)",
                         status=status(key, now[key]))
    with row[3]:
        widgets.tile("Median time in program", now["median_los_days"], "days", previous=before["median_los_days"],
                     help="Discharged episodes, admission to discharge")
    row = st.columns(4)
    with row[0]:
        widgets.tile("Attendance rate", now["attendance_rate"], "rate", previous=before["attendance_rate"],
                     status=status("attendance_rate", now["attendance_rate"]))
    with row[1]:
        widgets.tile("No-show rate", now["no_show_rate"], "rate", previous=before["no_show_rate"],
                     higher_is_better=False, status=status("no_show_rate", now["no_show_rate"]))
    with row[2]:
        widgets.tile("Weeks meeting the dose target", now["dose_target_met_rate"], "rate",
                     previous=before["dose_target_met_rate"],
                     help="Complete episode-weeks at or above ASAM 2.1 hours (9 h adults, 6 h adolescents)",
                     status=status("dose_target_met_rate", now["dose_target_met_rate"]))
    with row[3]:
        widgets.tile("Median weekly hours", now["median_weekly_hours"], "hours",
                     previous=before["median_weekly_hours"])
    row = st.columns(4)
    with row[0]:
        widgets.tile("Median wait", now["median_wait_days"], "days", previous=before["median_wait_days"],
                     higher_is_better=False, status=status("median_wait_days", now["median_wait_days"]),
                     help="First contact to the first attended session (episodes with a known first contact)")
    with row[1]:
        widgets.tile("Continuation to day 4", now["continuation_day_4"], "rate", previous=before["continuation_day_4"],
                     status=status("continuation_day_4", now["continuation_day_4"]),
                     help="Episodes admitted 28 or more days before the data date with attended sessions on 4 "
                          "distinct days in their first 28 (NIATx)")
    targets = [t.describe(percent=True).replace("target:", f"{t.metric.replace('_', ' ')}:")
               for t in (target_for(m) for m in ("attendance_rate", "no_show_rate", "retention_week_4",
                                                  "dose_target_met_rate", "continuation_day_4")) if t]
    wait = target_for("median_wait_days")
    if wait:
        targets.append(wait.describe(percent=False).replace("target:", "median wait:") + " days")
    st.caption("Targets (config/iop.toml): " + "; ".join(targets) + ". GREEN meets the target, AMBER misses it "
               "narrowly, RED misses it.")
    widgets.how_computed("headline-figures")


def trends() -> None:
    st.subheader("Monthly trends")
    by_month = data.query(ctx, sessions.rates_by, "month")
    cohorts = data.query(ctx, retention.cohort_retention)
    reasons = data.query(ctx, discharges.discharge_reasons_by_month)
    dose_cohort = data.query(ctx, dose.dose_by, "cohort")
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
    widgets.how_computed("monthly-trends")


def outcome_tiles() -> None:
    """The headline instrument's reliable improvement and measurement completion, for the tiles' period."""
    name = headline_instrument()
    if not data.query(ctx, measures.store_has_scores) or name not in dict(data.query(ctx, measures.instrument_choices)):
        return  # no assessments imported (or no such instrument): nothing to say about outcomes
    period = tile_period(ctx, "ov_window", show_control=False)
    now = data.query(ctx, measures.instrument_measures, name, filters=period.filters(ctx.filters))
    if now.due_windows == 0 and now.measured_episodes == 0:
        return
    before = data.query(ctx, measures.instrument_measures, name, filters=period.previous_filters(ctx.filters))
    label = data.query(ctx, measures.instrument_definition, name).label
    row = st.columns(4)
    with row[0]:
        widgets.tile(f"{label} reliable improvement", now.reliable_improvement_rate, "rate",
                     previous=before.reliable_improvement_rate,
                     help="Pairs (baseline and follow-up) improved by at least the reliable change; "
                          "the Clinical outcomes page has the rest",
                     status=status("reliable_improvement_rate", now.reliable_improvement_rate))
    with row[1]:
        widgets.tile(f"{label} measurement completion", now.measurement_completion_rate, "rate",
                     previous=before.measurement_completion_rate,
                     help="Measurement windows with a score, of the windows due",
                     status=status("measurement_completion_rate", now.measurement_completion_rate))


widgets.guarded(lag_flag, "Data coverage check")
widgets.guarded(tiles, "Headline figures")
widgets.guarded(outcome_tiles, "Clinical outcome figures")
widgets.guarded(trends, "Monthly trends")

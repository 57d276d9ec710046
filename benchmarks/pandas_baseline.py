"""A straightforward vectorised pandas implementation of the headline metrics.

Written from docs/metrics.md, independently of the SQL, on data already in
memory. It serves two purposes: the pandas baseline that benchmarks/bench_metrics.py
times against analytics.metrics.summary, and a second implementation that
tests/test_metrics_cli.py checks the summary against. No filters (the whole
store), default or given as_of.

>>> frames = load_frames(store)          # enrollments, sessions as DataFrames
>>> pandas_summary(*frames)["retention"]["week_4"]
"""
from __future__ import annotations

from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd

from analytics import config

UNPLANNED = ("dropped_out", "terminated")


def load_frames(store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw store tables as DataFrames (dates as datetime64), not timed by the benchmark."""
    with store.read() as cur:
        enr = cur.execute(
            "SELECT episode_id, patient_id, site, program, admit_date, discharge_date, discharge_reason "
            "FROM main.enrollments").df()
        ses = cur.execute(
            "SELECT episode_id, session_date, session_type, scheduled_minutes, attended_minutes, status "
            "FROM main.sessions").df()
    for col in ("admit_date", "discharge_date"):
        enr[col] = pd.to_datetime(enr[col])
    ses["session_date"] = pd.to_datetime(ses["session_date"])
    return enr, ses


def _rate(num, den):
    return float(num) / float(den) if den else None


def _step_value(times: np.ndarray, values: np.ndarray, t: float, start: float) -> float:
    i = np.searchsorted(times, t, side="right") - 1
    return start if i < 0 else float(values[i])


def pandas_summary(enr: pd.DataFrame, ses: pd.DataFrame, as_of: date | None = None) -> dict:
    if as_of is None:
        as_of_ts = max(enr["admit_date"].max(), enr["discharge_date"].max(), ses["session_date"].max())
    else:
        as_of_ts = pd.Timestamp(as_of)
    ep = enr[enr["admit_date"] <= as_of_ts].copy()
    known = ep["discharge_date"] <= as_of_ts  # NaT compares False: active
    ep["dis"] = ep["discharge_date"].where(known)
    ep["reason"] = ep["discharge_reason"].where(known)
    discharged = ep["dis"].notna()
    los = (ep["dis"] - ep["admit_date"]).dt.days

    out: dict = {"as_of": as_of_ts.date().isoformat(), "episodes": int(len(ep)),
                 "active_episodes": int((~discharged).sum())}
    out["completion_rate"] = _rate((ep["reason"] == "completed").sum(), discharged.sum())
    out["median_los_days"] = float(los[discharged].median()) if discharged.any() else None

    # survival: time in program, event 1 unplanned / 2 other / 0 censored
    time = np.where(discharged, los, (as_of_ts - ep["admit_date"]).dt.days)
    event = np.where(~discharged, 0, np.where(ep["reason"].isin(UNPLANNED), 1, 2))
    counts = pd.crosstab(time, event).reindex(columns=[0, 1, 2], fill_value=0).sort_index()
    t = counts.index.to_numpy(dtype=float)
    c0, d1, d2 = (counts[k].to_numpy(dtype=float) for k in (0, 1, 2))
    leaving = c0 + d1 + d2
    at_risk = leaving.sum() - np.concatenate([[0.0], np.cumsum(leaving)[:-1]]) if len(t) else leaving
    km = np.cumprod(1 - (d1 + d2) / at_risk) if len(t) else at_risk
    km_before = np.concatenate([[1.0], km[:-1]]) if len(t) else km
    cif1 = np.cumsum(km_before * d1 / at_risk) if len(t) else km
    out["retention"], out["in_program"] = {}, {}
    for w in (4, 8, 12):
        day = 7 * w
        n_risk = int((time >= day).sum())
        s = _step_value(t, km, day, 1.0)
        ok = len(ep) > 0 and (n_risk > 0 or s <= 0)
        out["retention"][f"week_{w}"] = 1 - _step_value(t, cif1, day, 0.0) if ok else None
        out["in_program"][f"week_{w}"] = s if ok else None

    # sessions of selected episodes, on or before as_of
    ses = ses.merge(ep[["episode_id", "admit_date", "dis", "program"]], on="episode_id")
    ses = ses[ses["session_date"] <= as_of_ts]
    expected = ses["status"] != "program_cancelled"
    attended = ses["status"] == "attended"
    share = Fraction(str(config.session_completion_share()))
    complete = attended & (ses["attended_minutes"] * share.denominator
                           >= ses["scheduled_minutes"] * share.numerator)
    n_expected = int(expected.sum())
    out["attendance_rate"] = _rate(attended.sum(), n_expected)
    out["no_show_rate"] = _rate((ses["status"] == "no_show").sum(), n_expected)
    out["session_completion_rate"] = _rate(complete.sum(), n_expected)

    minutes_by_type = ses.loc[attended].groupby("session_type")["attended_minutes"].sum()
    total = minutes_by_type.sum()
    out["therapy_mix"] = {k: float(v) / total for k, v in minutes_by_type.items()} if total > 0 else {}

    # dose: complete weeks up to min(discharge, as_of); minutes per (episode, week)
    end = ep["dis"].fillna(as_of_ts)
    weeks = ((end - ep["admit_date"]).dt.days + 1) // 7
    weeks = weeks.clip(lower=0).astype("int64")
    att = ses[attended & (ses["session_date"] >= ses["admit_date"])]
    wk = (att["session_date"] - att["admit_date"]).dt.days // 7 + 1
    per_week = att.assign(week=wk.to_numpy()).groupby(["episode_id", "week"], as_index=False)[
        "attended_minutes"].sum()
    per_week = per_week.merge(pd.DataFrame({"episode_id": ep["episode_id"], "weeks": weeks}), on="episode_id")
    per_week = per_week[per_week["week"] <= per_week["weeks"]]
    n_weeks = int(weeks.sum())
    out["episode_weeks"] = n_weeks
    if n_weeks:
        zeros = n_weeks - len(per_week)
        minutes = np.concatenate([per_week["attended_minutes"].to_numpy(dtype=float), np.zeros(zeros)])
        out["median_weekly_hours"] = float(np.median(minutes)) / 60
        targets = {p: config.dose_target_hours(p) * 60 for p in ep["program"].unique()}
        prog = ep.set_index("episode_id")["program"]
        per_week["target"] = per_week["episode_id"].map(prog).map(targets)
        met = int((per_week["attended_minutes"] >= per_week["target"]).sum())
        # a 0-minute week meets a target only if the target is 0
        zero_weeks_by_prog = weeks.groupby(ep["program"]).sum() - per_week.groupby(
            per_week["episode_id"].map(prog)).size().reindex(weeks.groupby(ep["program"]).sum().index, fill_value=0)
        met += int(sum(n for p, n in zero_weeks_by_prog.items() if targets[p] <= 0))
        out["dose_target_met_rate"] = met / n_weeks
    else:
        out["median_weekly_hours"] = None
        out["dose_target_met_rate"] = None
    return out

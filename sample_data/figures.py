"""Realism figures of a generated (or any canonical) export, computed with pandas.

Used by tests/test_generate.py and to write the figures in docs/sample-data.md.
An independent, plain-pandas reading of the CSVs: it shares no code with the
numpy generator.
"""
from __future__ import annotations

import pandas as pd

UNPLANNED = ("dropped_out", "terminated")


def read_exports(directory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(enrollments, sessions) read from DIR/enrollments.csv and DIR/sessions.csv."""
    e = pd.read_csv(f"{directory}/enrollments.csv", dtype=str, keep_default_na=False)
    s = pd.read_csv(f"{directory}/sessions.csv", dtype=str, keep_default_na=False)
    for col in ("admit_date", "discharge_date"):
        e[col] = pd.to_datetime(e[col].replace("", None), format="%Y-%m-%d")
    s["session_date"] = pd.to_datetime(s["session_date"], format="%Y-%m-%d")
    for col in ("scheduled_minutes", "attended_minutes"):
        s[col] = s[col].astype(int)
    return e, s


def unplanned_hazard_by_week(e: pd.DataFrame, data_end: pd.Timestamp, weeks: int = 12) -> pd.Series:
    """Share of episodes still in care at the start of week w that end unplanned in it.

    Length of stay counts admission and discharge day; active episodes are
    censored at data_end."""
    los = (e["discharge_date"].fillna(data_end) - e["admit_date"]).dt.days + 1
    unplanned = e["discharge_reason"].isin(UNPLANNED)
    out = {}
    for w in range(1, weeks + 1):
        at_risk = los > 7 * (w - 1)
        ended = at_risk & (los <= 7 * w) & unplanned
        out[w] = ended.sum() / max(at_risk.sum(), 1)
    return pd.Series(out, name="unplanned_hazard")


def realism_figures(e: pd.DataFrame, s: pd.DataFrame, data_end: pd.Timestamp) -> dict:
    """The figures docs/sample-data.md reports, as a flat dict."""
    discharged = e[e["discharge_date"].notna()]
    los = (discharged["discharge_date"] - discharged["admit_date"]).dt.days + 1
    reasons = discharged["discharge_reason"]
    status = s["status"].value_counts(normalize=True)
    attended = s[s["status"] == "attended"]
    sites = e.merge(s, on="episode_id")
    by_site = sites.groupby("site")
    adult = e[e["program"] == "Adult IOP"]
    # Weekly attended hours over the days in care (up to discharge or data end),
    # for adult episodes with at least two weeks in care.
    days = ((adult["discharge_date"].fillna(data_end) - adult["admit_date"]).dt.days + 1)
    hours = s.groupby("episode_id")["attended_minutes"].sum().reindex(adult["episode_id"]).fillna(0) / 60
    weekly = hours.to_numpy() / (days.to_numpy() / 7)
    long_enough = days.to_numpy() >= 14
    per_patient = e.groupby("patient_id").size()
    hazard = unplanned_hazard_by_week(e, data_end)
    return {
        "episodes": len(e),
        "sessions": len(s),
        "sessions_per_episode": len(s) / max(len(e), 1),
        "episodes_by_site": e["site"].value_counts().to_dict(),
        "programs": e["program"].value_counts().to_dict(),
        "active_episodes": int(e["discharge_date"].isna().sum()),
        "readmitted_patients": int((per_patient > 1).sum()),
        "readmission_episodes": int((per_patient - 1).sum()),
        "discharge_mix": reasons.value_counts(normalize=True).to_dict(),
        "median_los": float(los.median()),
        "median_los_completed": float(los[reasons == "completed"].median()),
        "median_los_dropped_out": float(los[reasons == "dropped_out"].median()),
        "median_los_terminated": float(los[reasons == "terminated"].median()),
        "mean_los": float(los.mean()),
        "status_mix": status.to_dict(),
        "no_show_rate": float(status.get("no_show", 0.0)),
        "partial_share_of_attended": float((attended["attended_minutes"] < attended["scheduled_minutes"]).mean()),
        "type_mix": s["session_type"].value_counts(normalize=True).to_dict(),
        "unplanned_hazard_by_week": hazard.round(4).to_dict(),
        "unplanned_hazard_peak_week": int(hazard.idxmax()),
        "no_show_rate_by_site": by_site["status"].apply(lambda x: (x == "no_show").mean()).to_dict(),
        "unplanned_share_by_site": discharged.groupby("site")["discharge_reason"].apply(
            lambda x: x.isin(UNPLANNED).mean()).to_dict(),
        "last_session_by_site": {k: v.date().isoformat() for k, v in by_site["session_date"].max().items()},
        "adult_share_under_9h_weekly": float((weekly[long_enough] < 9).mean()),
        "clinicians": int(s["clinician"].nunique()),
    }

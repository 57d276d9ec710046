"""Realism figures of a generated (or any canonical) export, computed with pandas.

Used by tests/test_generate.py, tests/test_generate_full.py and to write the
figures in docs/sample-data.md.
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


# ---- assessments and referrals (written with --full) ----------------------------

CADENCE = {"phq9": 14, "gad7": 14, "bam_use": 30, "bam_risk": 30, "bam_protective": 30, "uds": 7}


def read_full_exports(directory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(assessments, referrals) read from DIR/assessments.csv and DIR/referrals.csv."""
    a = pd.read_csv(f"{directory}/assessments.csv", dtype=str, keep_default_na=False)
    r = pd.read_csv(f"{directory}/referrals.csv", dtype=str, keep_default_na=False)
    a["assessment_date"] = pd.to_datetime(a["assessment_date"], format="%Y-%m-%d")
    a["score"] = a["score"].astype(int)
    for col in ("first_contact_date", "intake_assessment_date"):
        r[col] = pd.to_datetime(r[col].replace("", None), format="%Y-%m-%d")
    return a, r


def attended_share_by_episode(s: pd.DataFrame) -> pd.Series:
    """Attended over scheduled sessions, program cancellations left out."""
    scheduled = s[s["status"] != "program_cancelled"]
    return scheduled.groupby("episode_id")["status"].apply(lambda x: (x == "attended").mean())


def completion_by_site(e: pd.DataFrame, a: pd.DataFrame, instrument: str,
                       data_end: pd.Timestamp) -> pd.Series:
    """Windows with a score over the windows that had started by discharge or data_end,
    per site (windows as in docs/sample-data.md; window 0 includes the month before)."""
    every = CADENCE[instrument]
    last = e["discharge_date"].fillna(data_end)
    expected = ((last - e["admit_date"]).dt.days // every + 1).groupby(e["site"]).sum()
    j = a[a["instrument"] == instrument].merge(e[["episode_id", "admit_date", "site"]],
                                               on="episode_id")
    j["window"] = ((j["assessment_date"] - j["admit_date"]).dt.days // every).clip(lower=0)
    measured = j.drop_duplicates(["episode_id", "window"]).groupby("site").size()
    return (measured.reindex(expected.index).fillna(0) / expected).rename(instrument)


def assessment_figures(e: pd.DataFrame, s: pd.DataFrame, a: pd.DataFrame,
                       data_end: pd.Timestamp) -> dict:
    """The assessment figures docs/sample-data.md reports, as a flat dict."""
    j = a.merge(e[["episode_id", "admit_date", "site"]], on="episode_id")
    j["days"] = (j["assessment_date"] - j["admit_date"]).dt.days
    first = j.sort_values(["episode_id", "assessment_date", "assessment_id"])
    firsts = first.groupby(["episode_id", "instrument"]).head(1)
    lasts = first.groupby(["episode_id", "instrument"]).tail(1)
    paired = firsts.merge(lasts, on=["episode_id", "instrument"], suffixes=("_first", "_last"))
    paired = paired[paired["assessment_id_first"] != paired["assessment_id_last"]]
    paired["change"] = paired["score_last"] - paired["score_first"]
    phq = paired[paired["instrument"] == "phq9"].copy()
    share = attended_share_by_episode(s)
    phq["attended_share"] = phq["episode_id"].map(share)
    thirds = pd.qcut(phq["attended_share"], 3, labels=["low", "middle", "high"])
    change_by_third = phq.groupby(thirds, observed=True)["change"].mean()
    uds = j[j["instrument"] == "uds"]
    week = (uds["days"].clip(lower=0) // 7).clip(upper=11)
    per_day = a.groupby(["episode_id", "assessment_date"]).size()
    base = firsts.groupby("instrument")["score"]
    return {
        "assessments": len(a),
        "assessments_per_episode": len(a) / max(len(e), 1),
        "instrument_rows": a["instrument"].value_counts().to_dict(),
        "baseline_mean": base.mean().round(2).to_dict(),
        "baseline_sd": base.std().round(2).to_dict(),
        "last_mean": lasts.groupby("instrument")["score"].mean().round(2).to_dict(),
        "phq9_paired_episodes": len(phq),
        "phq9_mean_change": float(phq["change"].mean()),
        "phq9_change_by_attendance_third": change_by_third.round(2).to_dict(),
        "phq9_reliable_improvement": float((phq["change"] <= -6).mean()),
        "phq9_reliable_deterioration": float((phq["change"] >= 6).mean()),
        "gad7_reliable_deterioration": float(
            (paired.loc[paired["instrument"] == "gad7", "change"] >= 4).mean()),
        "uds_positivity_by_week": uds.groupby(week)["score"].mean().round(3).to_dict(),
        "episodes_with_pre_admission_score": float(
            j.loc[j["days"] < 0, "episode_id"].nunique() / max(len(e), 1)),
        "days_with_several_scores": float((per_day > 1).mean()),
        "completion_by_site": {name: completion_by_site(e, a, name, data_end).round(3).to_dict()
                               for name in ("phq9", "gad7", "bam_use", "uds")},
    }


def referral_figures(e: pd.DataFrame, r: pd.DataFrame, data_end: pd.Timestamp) -> dict:
    """The referral and first-contact figures docs/sample-data.md reports, as a flat dict."""
    admitted = r[r["outcome"] == "admitted"].merge(
        e[["episode_id", "admit_date", "site", "first_contact_date"]], on="episode_id",
        suffixes=("", "_enrollment"))
    enrollment_first = pd.to_datetime(e["first_contact_date"].replace("", None), format="%Y-%m-%d")
    wait = (e["admit_date"] - enrollment_first).dt.days.dropna()
    linked = e["episode_id"].isin(admitted["episode_id"])
    recorded = admitted["first_contact_date_enrollment"] != ""
    differs = (pd.to_datetime(admitted.loc[recorded, "first_contact_date_enrollment"])
               != admitted.loc[recorded, "first_contact_date"])
    pending_age = (data_end - r.loc[r["outcome"] == "pending", "first_contact_date"]).dt.days
    return {
        "referrals": len(r),
        "referrals_per_episode": len(r) / max(len(e), 1),
        "outcome_mix": r["outcome"].value_counts(normalize=True).round(4).to_dict(),
        "admitted_share": float((r["outcome"] == "admitted").mean()),
        "admitted_share_by_site": r.groupby("site")["outcome"].apply(
            lambda x: (x == "admitted").mean()).round(3).to_dict(),
        "median_wait_days": float(wait.median()),
        "p90_wait_days": float(wait.quantile(0.9)),
        "wait_over_30_share": float((wait > 30).mean()),
        "intake_share": float(r["intake_assessment_date"].notna().mean()),
        "intake_share_admitted": float(admitted["intake_assessment_date"].notna().mean()),
        "oldest_pending_days": int(pending_age.max()) if len(pending_age) else None,
        "first_contact_recorded_by_site": (e["first_contact_date"] != "").groupby(
            e["site"]).mean().round(3).to_dict(),
        "episodes_without_referral_by_site": (~linked).groupby(e["site"]).sum().to_dict(),
        "enrollment_first_contact_differs": float(differs.mean()),
        "referral_site_differs": float((admitted["site"] != admitted["site_enrollment"]).mean()),
        "source_mix": r["referral_source"].value_counts(normalize=True).round(3).to_dict(),
        "new_patients": int((~r["patient_id"].isin(e["patient_id"])).sum()),
    }

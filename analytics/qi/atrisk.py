"""The at-risk list: patients in active episodes to reach out to, with the reasons in words.

An active episode (not discharged by as_of) is listed when, as of the data's date:
- its last 2 or more expected sessions were missed in a row ("missed" = no_show;
  a patient cancellation is contact with the program and ends the run);
- it attended fewer than half of its expected sessions in the last 14 days
  (as_of - 13 .. as_of), when it had any;
- both of its last 2 complete episode-weeks were below its program's dose target
  (the dose's week rules: the macros dose_episodes and complete_week_minutes);
- reliable deterioration: on an instrument with a reliable change, its latest score
  is worse than its baseline by at least the reliable change (a pair, as the
  measures count it: scores on two or more dates);
- positive screen after negatives: its latest drug screen (by date, then id) is
  positive and the two before it negative; or
- it was admitted 7 or more days ago (admit_date <= as_of - 7) and has no attended
  session yet: the first week after admission is where people are lost between intake
  and treatment (docs/qi.md, "At-risk list").
Expected sessions exclude program cancellations, as everywhere else.

Patient-level rows: only for scopes with patient_level (PermissionError otherwise),
every view is audited, and the list is never exported nor put in the packet.
"""
from __future__ import annotations

import pandas as pd

from analytics.privacy.roles import require_patient_level
from analytics.privacy.audit import record
from analytics.filters import Filters, Scope
from analytics.store import Store, bind_filters

BUCKETS = ("1-7", "8-14", ">14", "never attended")
COLUMNS = ["patient_id", "episode_id", "site", "program", "reasons", "last_attended",
           "days_since_attended", "bucket"]


def bucket(days: object) -> str:
    """'1-7' (0 to 7 days: attended on the as_of day counts here), '8-14', '>14', or 'never attended'."""
    if days is None or pd.isna(days):
        return "never attended"
    days = int(days)
    if days <= 7:
        return "1-7"
    return "8-14" if days <= 14 else ">14"


def _reasons(row: pd.Series, labels: dict[str, tuple[str, int | None]]) -> str:
    out = []
    if row["missed_in_row"] >= 2:
        out.append(f"missed the last {int(row['missed_in_row'])} expected sessions in a row")
    if row["expected_14"] > 0 and 2 * row["attended_14"] < row["expected_14"]:
        out.append(f"attended {int(row['attended_14'])} of {int(row['expected_14'])} expected sessions "
                   "in the last 14 days")
    if row["low_dose"]:
        out.append(f"below the {row['target_hours']:g} h weekly dose target in each of the last 2 complete weeks")
    # a list of {instrument, baseline, latest} (an array from the query), or missing
    worse_on = row["deteriorated_on"]
    for worse in (() if worse_on is None or not hasattr(worse_on, "__len__") else worse_on):
        label, change = labels.get(worse["instrument"], (worse["instrument"], None))
        out.append(f"reliable deterioration on {label}: {int(worse['baseline'])} at baseline, "
                   f"{int(worse['latest'])} latest (reliable change {change})")
    if row["positive_after_negatives"]:
        out.append("positive drug screen after two negative ones")
    if row["not_started"]:
        out.append(f"admitted {int(row['days_since_admission'])} days ago with no attended session")
    return "; ".join(out)


def at_risk_rows(cur) -> pd.DataFrame:
    """The list for a cursor whose filters and scope are bound (no permission check: use at_risk_list)."""
    from analytics.metrics import dose
    from analytics.metrics.measures import bound_instruments
    from analytics.metrics.score_weeks import SCREEN_INSTRUMENT
    from analytics.store.instruments import instruments_in_force
    from analytics.store.queries import fetch_df

    reliable = tuple(i for i in instruments_in_force(cur) if i.reliable_change is not None)
    raw = fetch_df(cur, "qi/atrisk", dose.target_params(dose.target_hours(cur)) | {
        "instruments": bound_instruments(reliable), "screen_instrument": SCREEN_INSTRUMENT})
    if raw.empty:
        return pd.DataFrame(columns=COLUMNS)
    labels = {i.name: (i.label, i.reliable_change) for i in reliable}
    out = raw.copy()
    out["reasons"] = out.apply(_reasons, axis=1, labels=labels)
    out["days_since_attended"] = out["days_since_attended"].astype("Int64")
    out["bucket"] = out["days_since_attended"].map(bucket)
    out["last_attended"] = pd.to_datetime(out["last_attended"]).dt.date
    return out[COLUMNS].reset_index(drop=True)


def at_risk_list(store: Store, filters: Filters, scope: Scope) -> pd.DataFrame:
    """Active episodes at risk, for outreach: pseudonymous patient ids, reasons, days since attendance.

    Raises PermissionError (access.PatientLevelDenied) unless scope.patient_level.
    Writes an audit row (42 CFR Part 2 accounting of disclosures) with the
    filters and the number of rows shown, never the ids.
    """
    require_patient_level(scope)
    with store.read() as cur:
        as_of = bind_filters(cur, filters, scope)
        rows = at_risk_rows(cur)
    with store.write() as cur:
        record(cur, scope.actor, "view_at_risk", {
            "filters": dict(filters.describe()), "as_of": as_of, "rows": len(rows),
        })
    return rows


def bucket_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Patients per days-since-attendance bucket, in bucket order (all buckets shown)."""
    counts = rows["bucket"].value_counts() if not rows.empty else pd.Series(dtype=int)
    return pd.DataFrame({"bucket": BUCKETS, "episodes": [int(counts.get(b, 0)) for b in BUCKETS]})

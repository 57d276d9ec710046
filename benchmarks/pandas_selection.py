"""Episode and referral selection in pandas, shared by the measures and access implementations.

Written from docs/metrics.md's definitions ("Data and time": the as-of cut, the filters,
the site scope), independently of the SQL macros. Dates become whole day numbers
(float64, NaN where unknown), so every window is integer arithmetic and a missing
date compares False.

>>> as_of = resolve_as_of(None, Filters(), enrollments, sessions)   # a day number
>>> episodes = selected_episodes(enrollments, Filters(sites=("North",)), EVERYTHING, as_of)
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

import numpy as np
import pandas as pd

from analytics.filters import Filters, Scope
from analytics.metrics.breakdowns import UnknownColumnError

EPOCH = date(1970, 1, 1)
# An empty store has no default cutoff; like the SQL side, a cutoff this early selects nothing.
EMPTY_STORE_AS_OF = date(1900, 1, 1)
# The raw tables' columns, as the load helpers read them through main.<table> views.
ENROLLMENT_FRAME = ("episode_id", "patient_id", "site", "program", "admit_date", "discharge_date",
                    "discharge_reason", "planned_weeks", "first_contact_date", "extra")
SESSION_FRAME = ("session_id", "episode_id", "session_date", "session_type", "clinician",
                 "scheduled_minutes", "attended_minutes", "status")
ASSESSMENT_FRAME = ("assessment_id", "episode_id", "assessment_date", "instrument", "score")
REFERRAL_FRAME = ("referral_id", "patient_id", "site", "program", "first_contact_date",
                  "intake_assessment_date", "outcome", "episode_id", "extra")
STORE_TABLES = ("enrollments", "sessions", "assessments", "referrals")
KNOWN_COLUMNS = frozenset(ENROLLMENT_FRAME + SESSION_FRAME + ASSESSMENT_FRAME + REFERRAL_FRAME)


def day_numbers(values) -> np.ndarray:
    """Days since 1970-01-01 as float64 (NaN for a missing date); accepts datetime64, dates or ISO text.

    >>> day_numbers(pd.Series([date(1970, 1, 2), None]))
    array([ 1., nan])
    """
    ts = pd.to_datetime(pd.Series(values) if not isinstance(values, pd.Series) else values)
    days = ts.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64").astype("float64")
    days[ts.isna().to_numpy()] = np.nan
    return days


def day_number(value: date) -> float:
    return float((pd.Timestamp(value).date() - EPOCH).days)


def date_of(day: float) -> date:
    return date.fromordinal(EPOCH.toordinal() + int(day))


def extra_series(frame: pd.DataFrame) -> pd.Series:
    """The frame's `extra` column (a dict per row; a missing cell or column reads as {})."""
    if "extra" not in frame.columns:
        return pd.Series([{}] * len(frame), index=frame.index, dtype=object)
    return frame["extra"].map(lambda d: d if isinstance(d, dict) else {})


def holds_column(frame: pd.DataFrame | None, column: str) -> bool:
    """True when some row's extra columns have the key (whatever its value)."""
    if frame is None or "extra" not in frame.columns:
        return False
    return any(isinstance(d, dict) and column in d for d in frame["extra"])


def check_filter_columns(filters: Filters, *frames: pd.DataFrame | None) -> None:
    """UnknownColumnError when a COL=VAL filter names a column none of the frames holds."""
    for col in sorted({c for c, _ in filters.extra}):
        if not any(holds_column(f, col) for f in frames):
            raise UnknownColumnError(f"unknown filter column {col!r}")


def extra_mask(frame: pd.DataFrame, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
    """Rows whose extra columns match every filtered column (AND across columns, OR within one).

    A missing key or value counts as the empty string.
    """
    wanted: dict[str, set[str]] = {}
    for col, val in pairs:
        wanted.setdefault(col, set()).add(val)
    mask = np.ones(len(frame), dtype=bool)
    if not wanted:
        return mask
    extras = extra_series(frame)
    for col, values in wanted.items():
        got = np.array([(d.get(col) if d.get(col) is not None else "") for d in extras], dtype=object)
        mask &= np.isin(got, list(values))
    return mask


def resolve_as_of(as_of: date | None, filters: Filters, enrollments: pd.DataFrame,
                  sessions: pd.DataFrame | None) -> float:
    """The cutoff as a day number: as_of, else filters.as_of, else the latest admission,
    session or discharge date of the whole input (assessment and referral dates do not move it)."""
    chosen = as_of if as_of is not None else filters.as_of
    if chosen is not None:
        return day_number(chosen)
    candidates = [day_numbers(enrollments["admit_date"]), day_numbers(enrollments["discharge_date"])]
    if sessions is not None and len(sessions):
        candidates.append(day_numbers(sessions["session_date"]))
    every = np.concatenate(candidates) if candidates else np.array([])
    if len(every) == 0 or np.all(np.isnan(every)):
        return day_number(EMPTY_STORE_AS_OF)
    return float(np.nanmax(every))


def dated_selection(frame: pd.DataFrame, days: np.ndarray, filters: Filters, scope: Scope,
                    as_of: float) -> np.ndarray:
    """The rows of frame (episodes by admission, referrals by first contact: `days`) that the
    as-of cut, the date range, the sites, the programs and the scope select; the extra
    columns are each caller's own rule."""
    mask = days <= as_of
    if filters.admitted_from is not None:
        mask &= days >= day_number(filters.admitted_from)
    if filters.admitted_to is not None:
        mask &= days <= day_number(filters.admitted_to)
    if filters.sites:
        mask &= frame["site"].isin(filters.sites).to_numpy()
    if filters.programs:
        mask &= frame["program"].isin(filters.programs).to_numpy()
    if scope.allowed_sites is not None:
        mask &= frame["site"].isin(scope.allowed_sites).to_numpy()
    return mask


def selected_episodes(enrollments: pd.DataFrame, filters: Filters, scope: Scope, as_of: float) -> pd.DataFrame:
    """The episodes a question is about, one row each, dates as day numbers.

    Columns: episode_id, patient_id, site, program, admit, discharge (NaN when not
    discharged by as_of: a later discharge is not known yet), first_contact (the
    enrollment's own, NaN when absent).
    """
    enr = enrollments
    admit = day_numbers(enr["admit_date"])
    mask = dated_selection(enr, admit, filters, scope, as_of)
    if filters.extra:
        # A column that no enrollment holds (only referrals do) selects no episode.
        if not all(holds_column(enr, col) for col, _ in filters.extra):
            mask &= False
        else:
            mask &= extra_mask(enr, filters.extra)
    discharge = day_numbers(enr["discharge_date"])
    discharge = np.where(discharge <= as_of, discharge, np.nan)
    if "first_contact_date" in enr.columns:
        first_contact = day_numbers(enr["first_contact_date"])
    else:
        first_contact = np.full(len(enr), np.nan)
    out = pd.DataFrame({
        "episode_id": enr["episode_id"].to_numpy(),
        "patient_id": enr["patient_id"].to_numpy() if "patient_id" in enr.columns else None,
        "site": enr["site"].to_numpy(),
        "program": enr["program"].to_numpy(),
        "admit": admit,
        "discharge": discharge,
        "first_contact": first_contact,
    })
    return out[mask].reset_index(drop=True)


def read_table(cur, table: str, wanted: tuple[str, ...]) -> pd.DataFrame:
    """The wanted columns of main.<table> (dates as datetime64); a column the table lacks
    (first_contact_date in a store from before it) comes back all null.

    Names come from this package's fixed lists, never from user text.
    """
    if table not in STORE_TABLES or not all(c in KNOWN_COLUMNS for c in wanted):
        raise ValueError(f"not a store table or column: {table}")
    present = [d[0] for d in cur.execute(f"SELECT * FROM main.{table} LIMIT 0").description]
    chosen = [c for c in wanted if c in present]
    frame = cur.execute(f"SELECT {', '.join(chosen)} FROM main.{table}").df()
    for col in wanted:
        if col not in frame.columns:
            frame[col] = None
        if col.endswith("_date"):
            frame[col] = pd.to_datetime(frame[col])
    return frame[list(wanted)]


def rate(numerator, denominator) -> float | None:
    """numerator / denominator as a float; None for a zero denominator."""
    return float(numerator) / float(denominator) if denominator else None


def median(values: np.ndarray) -> float | None:
    """The median (an even count: the mean of the two middle values); None for no values."""
    values = np.asarray(values, dtype="float64")
    return float(np.median(values)) if len(values) else None

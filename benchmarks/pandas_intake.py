"""Access figures (wait, continuation, IET-style initiation and engagement, referral outcomes), in pandas.

Written from the definitions in docs/metrics.md ("Access"), independently of the SQL.
It is the second implementation the access figures are checked against
(tests/test_reference_intake.py, with the hand-worked cases in tests/fixtures/intake/)
and the pandas baseline a benchmark times. Initiation and engagement are IET-style,
not the HEDIS measure.

>>> enrollments, sessions, referrals = load_access_frames(store)
>>> pandas_access(enrollments, sessions, referrals)["continuation"]["day_4"]
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from analytics.filters import EVERYTHING, Filters, Scope
from benchmarks.pandas_selection import (
    ENROLLMENT_FRAME, REFERRAL_FRAME, SESSION_FRAME, check_filter_columns, dated_selection, day_numbers, extra_mask,
    median, rate, read_table, resolve_as_of, selected_episodes,
)

ACCESS_KEYS: tuple[str, ...] = (
    "median_wait_days", "wait_measured", "continuation", "continuation_eligible", "iet_eligible",
    "initiation_rate", "engagement_rate", "referrals", "referral_outcomes", "admission_rate",
    "median_days_to_intake_assessment",
)
OUTCOMES: tuple[str, ...] = ("admitted", "declined", "not_eligible", "no_show", "referred_elsewhere", "pending")

# NIATx continuation: units of care (days with an attended session) in the first 28 days.
CONTINUATION_DAYS = 28
CONTINUATION_UNITS = (1, 2, 3, 4)
# IET-style: initiation from the index date to index + 13, engagement from the day after
# initiation to initiation + 34, so an index date is fully observed 47 days on.
INITIATION_DAYS = 13
ENGAGEMENT_DAYS = 34
ENGAGEMENT_SESSIONS = 2
IET_FOLLOW_UP = INITIATION_DAYS + ENGAGEMENT_DAYS


def load_access_frames(store) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """enrollments, sessions and referrals from the store (dates as datetime64), not timed."""
    with store.read() as cur:
        return (read_table(cur, "enrollments", ENROLLMENT_FRAME), read_table(cur, "sessions", SESSION_FRAME),
                read_table(cur, "referrals", REFERRAL_FRAME))


def _first_contact(episodes: pd.DataFrame, referrals: pd.DataFrame) -> np.ndarray:
    """The enrollment's first contact, else the earliest of all its admitted referrals' (unfiltered)."""
    admitted = referrals[(referrals["outcome"] == "admitted") & referrals["episode_id"].notna()]
    earliest = pd.Series(day_numbers(admitted["first_contact_date"]),
                         index=admitted["episode_id"].to_numpy()).groupby(level=0).min()
    from_referrals = episodes["episode_id"].map(earliest).to_numpy(dtype="float64")
    own = episodes["first_contact"].to_numpy()
    return np.where(np.isnan(own), from_referrals, own)


def _attended_days(sessions: pd.DataFrame, episodes: pd.DataFrame, as_of: float) -> pd.DataFrame:
    """Distinct (episode row, day) with an attended session on or before as_of."""
    att = sessions[sessions["status"] == "attended"]
    row = pd.Series(np.arange(len(episodes)), index=episodes["episode_id"].to_numpy())
    ep = att["episode_id"].map(row).to_numpy(dtype="float64")
    day = day_numbers(att["session_date"])
    keep = ~np.isnan(ep) & (day <= as_of)
    out = pd.DataFrame({"ep": ep[keep].astype("int64"), "day": day[keep]})
    return out.drop_duplicates(ignore_index=True)


def _days_per_episode(att: pd.DataFrame, start: np.ndarray, last: np.ndarray, n: int) -> np.ndarray:
    """Per episode row, the number of attended days from start to last (both included)."""
    ep = att["ep"].to_numpy()
    day = att["day"].to_numpy()
    inside = (day >= start[ep]) & (day <= last[ep])
    return np.bincount(ep[inside], minlength=n)


def _first_day_in(att: pd.DataFrame, start: np.ndarray, last: np.ndarray, n: int) -> np.ndarray:
    """Per episode row, the first attended day from start to last (NaN when none)."""
    ep = att["ep"].to_numpy()
    day = att["day"].to_numpy()
    inside = (day >= start[ep]) & (day <= last[ep])
    first = np.full(n, np.inf)
    np.minimum.at(first, ep[inside], day[inside])
    first[np.isinf(first)] = np.nan
    return first


def _episode_figures(episodes: pd.DataFrame, att: pd.DataFrame, first_contact: np.ndarray,
                     as_of: float) -> dict:
    n = len(episodes)
    admit = episodes["admit"].to_numpy()
    everything = np.full(n, np.inf)
    out: dict = {}

    first_attended = _first_day_in(att, np.full(n, -np.inf), everything, n)
    waits = (first_attended - first_contact)[~np.isnan(first_attended) & ~np.isnan(first_contact)]
    out["median_wait_days"] = median(waits)
    out["wait_measured"] = int(len(waits))

    eligible = admit <= as_of - CONTINUATION_DAYS
    units = _days_per_episode(att, admit, admit + CONTINUATION_DAYS - 1, n)[eligible]
    out["continuation"] = {f"day_{k}": rate((units >= k).sum(), len(units)) for k in CONTINUATION_UNITS}
    out["continuation_eligible"] = int(eligible.sum())

    index = np.where(np.isnan(first_contact), admit, first_contact)
    eligible = index <= as_of - IET_FOLLOW_UP
    initiation = _first_day_in(att, index, index + INITIATION_DAYS, n)
    initiated = eligible & ~np.isnan(initiation)
    safe = np.where(initiated, initiation, np.inf)  # no window for the others
    further = _days_per_episode(att, safe + 1, safe + ENGAGEMENT_DAYS, n)
    engaged = initiated & (further >= ENGAGEMENT_SESSIONS)
    out["iet_eligible"] = int(eligible.sum())
    out["initiation_rate"] = rate(initiated.sum(), eligible.sum())
    out["engagement_rate"] = rate(engaged.sum(), eligible.sum())
    return out


def _selected_referrals(referrals: pd.DataFrame, filters: Filters, scope: Scope, as_of: float) -> pd.DataFrame:
    """Referrals selected by their own site, program, first contact and extra columns."""
    mask = dated_selection(referrals, day_numbers(referrals["first_contact_date"]), filters, scope, as_of)
    if filters.extra:
        # the same rule as for episodes: a column no referral holds reads as '' everywhere
        mask &= extra_mask(referrals, filters.extra)
    return referrals[mask]


def _referral_figures(referrals: pd.DataFrame, enrollments: pd.DataFrame, as_of: float) -> dict:
    admit = pd.Series(day_numbers(enrollments["admit_date"]), index=enrollments["episode_id"].to_numpy())
    admit = admit[~admit.index.duplicated()]
    outcome = referrals["outcome"].to_numpy(dtype=object).copy()
    episode_admit = referrals["episode_id"].map(admit).to_numpy(dtype="float64")
    # admitted, but the episode is not known by as_of: still pending on that date
    not_yet = (outcome == "admitted") & ~(episode_admit <= as_of)
    outcome[not_yet] = "pending"
    counts = {k: int((outcome == k).sum()) for k in OUTCOMES}
    out: dict = {"referrals": int(len(referrals)), "referral_outcomes": counts}
    out["admission_rate"] = rate(counts["admitted"], len(referrals) - counts["pending"])
    contact = day_numbers(referrals["first_contact_date"])
    intake = day_numbers(referrals["intake_assessment_date"])
    done = intake <= as_of
    out["median_days_to_intake_assessment"] = median((intake - contact)[done])
    return out


def pandas_access(enrollments: pd.DataFrame, sessions: pd.DataFrame, referrals: pd.DataFrame,
                  filters: Filters = Filters(), scope: Scope = EVERYTHING, as_of: date | None = None) -> dict:
    """The `access` object: exactly ACCESS_KEYS, continuation day_1..day_4, all six outcomes.

    as_of None: filters.as_of, else the latest admission, session or discharge date of
    the input (referral dates do not move it).
    """
    if referrals is None:
        referrals = pd.DataFrame({c: pd.Series(dtype=object) for c in REFERRAL_FRAME})
    check_filter_columns(filters, enrollments, referrals)
    cutoff = resolve_as_of(as_of, filters, enrollments, sessions)
    episodes = selected_episodes(enrollments, filters, scope, cutoff)
    first_contact = _first_contact(episodes, referrals)
    att = _attended_days(sessions, episodes, cutoff)
    out = _episode_figures(episodes, att, first_contact, cutoff)
    out.update(_referral_figures(_selected_referrals(referrals, filters, scope, cutoff), enrollments, cutoff))
    return {k: out[k] for k in ACCESS_KEYS}

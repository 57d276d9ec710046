"""Synthetic scheduled sessions of every episode, with attendance and minutes.

Episodes are expanded to calendar days, then to session days (the episode's
weekday pattern), then to session rows, with np.repeat: no Python loop over
episodes or sessions, so 10 million rows take seconds.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sample_data import parameters as P
from sample_data.draws import codes_by_group, codes_from_mapping, codes_from_p
from sample_data.episodes import Episodes, Roster, day_number

ATTENDED, NO_SHOW, PATIENT_CANCELLED, PROGRAM_CANCELLED = (
    P.STATUSES.index(s) for s in ("attended", "no_show", "patient_cancelled", "program_cancelled"))
T = {name: i for i, name in enumerate(P.TYPES)}
# Sessions led by the patient's own counsellor; the rest by the day's facilitator.
OWN_CLINICIAN_TYPES = ("individual", "family", "relapse_prevention", "case_management")


@dataclass(frozen=True)
class Sessions:
    """One entry per session row, in episode order, then date, then block of the day."""
    episode: np.ndarray  # int32 index into Episodes
    day: np.ndarray  # int32 days since 1970-01-01
    session_type: np.ndarray  # int8 index into P.TYPES
    clinician: np.ndarray  # int16 index into Roster.names
    scheduled: np.ndarray  # int16 minutes
    attended: np.ndarray  # int16 minutes
    status: np.ndarray  # int8 index into P.STATUSES

    def __len__(self) -> int:
        return len(self.day)


def _mask(weekdays: tuple[int, ...]) -> int:
    """Bit mask of weekdays: (0, 2, 4) -> 0b10101."""
    return sum(1 << d for d in weekdays)


def _weekday_masks(eps: Episodes, rng: np.random.Generator) -> np.ndarray:
    """A 7-bit weekday mask per episode (bit 0 = Monday): 3 or 4 days a week."""
    n = len(eps)
    four_p = np.array([s.four_day_share for s in P.SITES])[eps.site]
    four_p = np.where(eps.program == P.ADOLESCENT, 0.6 * four_p, four_p)
    three = np.array([_mask(p) for p in P.THREE_DAY_PATTERNS], dtype=np.int8)
    four = np.array([_mask(p) for p in P.FOUR_DAY_PATTERNS], dtype=np.int8)
    pick3 = three[rng.integers(0, len(three), n)]
    pick4 = four[rng.integers(0, len(four), n)]
    return np.where(rng.random(n) < four_p, pick4, pick3).astype(np.int8)


def _session_days(eps: Episodes, rng: np.random.Generator, data_end: int):
    """(episode, day, offset from admission) of every scheduled session day."""
    lag = np.array([s.session_lag for s in P.SITES])[eps.site]
    last = np.minimum(eps.end, data_end)
    # The lagging site's export stops LAG_DAYS before the data end.
    last = np.where(lag, np.minimum(last, data_end - P.LAG_DAYS), last)
    span = np.maximum(last - eps.admit + 1, 0).astype(np.int32)
    mask = _weekday_masks(eps, rng)
    ep = np.repeat(np.arange(len(eps), dtype=np.int32), span)
    starts = (np.cumsum(span, dtype=np.int64) - span).astype(np.int32)
    offset = np.arange(len(ep), dtype=np.int32) - np.repeat(starts, span)
    day = eps.admit[ep] + offset
    weekday = ((day + 3) % 7).astype(np.int8)  # 1970-01-01 was a Thursday
    # The admission day is always a session day (the intake).
    keep = ((mask[ep] >> weekday) & 1).astype(bool) | (offset == 0)
    return ep[keep], day[keep], offset[keep]


def _day_status(eps: Episodes, roster: Roster, ep: np.ndarray, day: np.ndarray,
                offset: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Status of each session day: the whole day is attended, missed or cancelled."""
    base = np.array([s.no_show_base for s in P.SITES])
    reason_shift = np.zeros(len(P.REASONS))
    for r in P.UNPLANNED:
        reason_shift[P.REASONS.index(r)] = P.NO_SHOW_UNPLANNED_SHIFT
    reason_shift[P.REASONS.index("completed")] = P.NO_SHOW_COMPLETED_SHIFT
    ep_logit = (np.log(base / (1 - base))[eps.site] + roster.no_show_logit[eps.clinician]
                + P.NO_SHOW_ENGAGEMENT_SD * eps.engagement + reason_shift[eps.reason])
    logit = ep_logit[ep]
    # Dropouts fade out: their last two weeks are mostly missed.
    fading = (eps.reason[ep] == P.REASONS.index("dropped_out")) & (
        eps.end[ep] - day < P.NO_SHOW_FADE_DAYS)
    logit = logit + np.where(fading, P.NO_SHOW_FADE_SHIFT, 0.0)
    p_no_show = 1.0 / (1.0 + np.exp(-logit))

    u = rng.random(len(ep))
    cut1 = P.PROGRAM_CANCELLED_P
    cut2 = cut1 + P.PATIENT_CANCELLED_P
    cut3 = cut2 + (1 - cut2) * p_no_show
    status = np.select([u < cut1, u < cut2, u < cut3],
                       [PROGRAM_CANCELLED, PATIENT_CANCELLED, NO_SHOW], ATTENDED).astype(np.int8)
    if len(day):
        first, last = (P.EPOCH + dt.timedelta(days=int(x)) for x in (day.min(), day.max()))
        holidays = [day_number(d) for d in P.us_holidays(first.year, last.year)]
        status[np.isin(day, holidays)] = PROGRAM_CANCELLED
    status[offset == 0] = ATTENDED  # admission is the intake itself
    return status


def make_sessions(eps: Episodes, roster: Roster, rng: np.random.Generator,
                  data_end: int) -> Sessions:
    """All scheduled session rows of the episodes, up to discharge or the data end."""
    ep_d, day_d, offset_d = _session_days(eps, rng, data_end)
    status_d = _day_status(eps, roster, ep_d, day_d, offset_d, rng)
    program_d = eps.program[ep_d]
    intake_d = offset_d == 0
    rows_d = (codes_by_group(rng.random(len(ep_d)), program_d, P.ROWS_PER_DAY_P) + 1)
    rows_d[intake_d] = 1

    # Expand session days to session rows; `slot` is the block's place in the day.
    d = np.repeat(np.arange(len(ep_d), dtype=np.int32), rows_d)
    firsts = (np.cumsum(rows_d, dtype=np.int64) - rows_d).astype(np.int32)
    slot = (np.arange(len(d), dtype=np.int32) - firsts[d]).astype(np.int8)
    ep, day, rows, program, intake = ep_d[d], day_d[d], rows_d[d], program_d[d], intake_d[d]
    first = slot == 0

    u = rng.random(len(d))
    stype = codes_by_group(u, program, {g: [p.get(t, 0.0) for t in P.TYPES]
                                        for g, p in P.TYPE_P_LATER.items()})
    stype[first] = codes_from_mapping(u[first], P.TYPE_P_FIRST, P.TYPES)
    stype[intake] = T["individual"]

    scheduled = np.where(rows == 3, 45, 60).astype(np.int16)
    u = rng.random(len(d))
    for program_code, by_rows in P.FIRST_BLOCK_MINUTES.items():
        for n_rows, (minutes, p) in by_rows.items():
            sel = first & (program == program_code) & (rows == n_rows)
            scheduled[sel] = np.array(minutes, dtype=np.int16)[codes_from_p(u[sel], p)]
    scheduled[stype == T["case_management"]] = 30
    scheduled[intake] = P.INTAKE_MINUTES

    # Counsellor-led sessions go to the primary clinician; groups to the site's
    # facilitator of that day and block (the same for everyone in the group).
    site = eps.site[ep]
    facilitator = roster.first[site] + (day.astype(np.int64) * 37 + slot * 11) % roster.count[site]
    own = np.isin(stype, [T[t] for t in OWN_CLINICIAN_TYPES])
    clinician = np.where(own, eps.clinician[ep], facilitator).astype(np.int16)

    status = status_d[d]
    skipped = (~first) & (status == ATTENDED) & (rng.random(len(d)) < P.LATER_BLOCK_NO_SHOW_P)
    status[skipped] = NO_SHOW
    attended = np.where(status == ATTENDED, scheduled, 0).astype(np.int16)
    # Some attended sessions are partial: joined late or left early.
    partial_p = np.array([s.partial_share for s in P.SITES])[site]
    partial = (status == ATTENDED) & (rng.random(len(d)) < partial_p)
    share = 0.4 + 0.55 * rng.random(len(d))
    cut = np.clip(np.rint(scheduled * share / 5) * 5, 5, scheduled - 5).astype(np.int16)
    attended[partial] = cut[partial]
    return Sessions(ep, day, stype, clinician, scheduled, attended, status)

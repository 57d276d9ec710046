"""Synthetic requests for service (referrals) and the enrollments' first contact dates.

Every episode is the outcome of a request for service: its admitted referral
(first contact, an intake assessment for most, the wait to admission). Other
requests end without an admission (declined, not eligible, no-show, referred
elsewhere, or still pending when recent). All drawn per array, as in episodes.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import parameters as P
from sample_data.draws import codes_by_group, codes_from_mapping, codes_from_p, to_weekday
from sample_data.episodes import Episodes

ADMITTED = P.REFERRAL_OUTCOMES.index("admitted")
PENDING = P.REFERRAL_OUTCOMES.index("pending")
NO_EPISODE = -1
NO_PREVIOUS = np.iinfo(np.int32).min // 2  # a day long before any date drawn here
_ACCESS = tuple(P.SITE_ACCESS[s.name] for s in P.SITES)


class ReferralCountError(ValueError):
    """The requested number of referrals cannot be generated for these episodes."""


@dataclass(frozen=True)
class AdmittedRequests:
    """The request behind each episode, one entry per episode (episode order)."""
    logged: np.ndarray  # bool: the request is in the referral log
    first_contact: np.ndarray  # int32 day
    intake: np.ndarray  # int32 day of the intake assessment (valid where has_intake)
    has_intake: np.ndarray  # bool
    site: np.ndarray  # int8: usually the episode's site
    program: np.ndarray  # int8: usually the episode's program


@dataclass(frozen=True)
class FirstContact:
    """The enrollments' first_contact_date, one entry per episode."""
    day: np.ndarray  # int32
    recorded: np.ndarray  # bool: False where the site's export leaves it empty


@dataclass(frozen=True)
class Referrals:
    """One entry per request for service, in referral_id order (first contact date,
    ties in a random order)."""
    patient: np.ndarray  # int64 patient number, as Episodes.patient
    site: np.ndarray  # int8 index into P.SITES
    program: np.ndarray  # int8 index into P.PROGRAMS
    first_contact: np.ndarray  # int32 day
    intake: np.ndarray  # int32 day (valid where has_intake)
    has_intake: np.ndarray  # bool
    outcome: np.ndarray  # int8 index into P.REFERRAL_OUTCOMES
    episode: np.ndarray  # int32 index into Episodes; NO_EPISODE unless admitted
    source: np.ndarray  # int8 index into P.REFERRAL[0]

    def __len__(self) -> int:
        return len(self.first_contact)


def previous_discharge(eps: Episodes) -> np.ndarray:
    """Discharge day of the same patient's previous episode (NO_PREVIOUS if none)."""
    order = np.lexsort((eps.admit, eps.patient))
    prev = np.full(len(eps), NO_PREVIOUS, dtype=np.int32)
    same = eps.patient[order][1:] == eps.patient[order][:-1]
    prev[order[1:][same]] = eps.end[order[:-1][same]]
    return prev


def _weekday_between(day: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Weekend days moved back to Friday, or forward to Monday when Friday is before
    `first`; left alone when neither fits in [first, last]."""
    weekday = (day + 3) % 7  # Monday = 0
    back = day - np.maximum(weekday - 4, 0)
    forward = day + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    return np.where(back >= first, back, np.where(forward <= last, forward, day)).astype(np.int32)


def _other_main_site(site: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A main site different from `site` (any main site for the tiny one)."""
    main = np.array([i for i in range(len(P.SITES)) if i != P.TINY_SITE], dtype=np.int8)
    position = np.searchsorted(main, site).clip(0, len(main) - 1)
    step = 1 + rng.integers(0, len(main) - 1, len(site))
    return main[(position + step) % len(main)]


def make_admitted(eps: Episodes, rng: np.random.Generator) -> tuple[AdmittedRequests, FirstContact]:
    """The request behind every episode and the enrollments' first contact dates."""
    n = len(eps)
    prev_end = previous_discharge(eps)
    median = np.array([a.wait_median_days for a in _ACCESS])[eps.site] * np.array(
        [P.WAIT_MULTIPLIER_BY_SOURCE[s] for s in P.REFERRAL[0]])[eps.referral]
    same_day = rng.random(n) < P.SAME_DAY_ADMISSION_P
    quick = rng.integers(0, 2, n)
    lognormal = median * np.exp(P.WAIT_LOG_SIGMA * rng.standard_normal(n))
    wait = np.where(same_day, quick, np.rint(lognormal)).astype(np.int32)
    first = eps.admit - wait
    first = first - np.maximum((first + 3) % 7 - 4, 0)  # a weekend call counts from Friday
    # A new request comes after the previous episode ended (readmissions wait 7+ days).
    first = np.maximum(first, prev_end + 1).astype(np.int32)

    has_intake = rng.random(n) < P.INTAKE_P_ADMITTED
    share = rng.beta(*P.INTAKE_SHARE_OF_WAIT, n)
    intake = first + np.floor(share * (eps.admit - first + 1)).astype(np.int32)
    intake = _weekday_between(np.minimum(intake, eps.admit), first, eps.admit)

    logged = rng.random(n) >= np.array([a.unlogged_share for a in _ACCESS])[eps.site]
    other_site = rng.random(n) < P.REFERRAL_OTHER_SITE_P
    site = np.where(other_site, _other_main_site(eps.site, rng), eps.site).astype(np.int8)
    other_program = rng.random(n) < P.REFERRAL_OTHER_PROGRAM_P
    program = np.where(other_program, 1 - eps.program, eps.program).astype(np.int8)

    # The enrollment's own date: the referral's, except a few that disagree,
    # kept after the previous discharge and not after admission.
    mismatch = rng.random(n) < P.FIRST_CONTACT_MISMATCH_P
    delta = rng.integers(1, P.FIRST_CONTACT_MISMATCH_DAYS + 1, n)
    earlier = rng.random(n) < 0.5
    down, up = first - delta, first + delta
    shifted = np.where(earlier, np.where(down > prev_end, down, up),
                       np.where(up <= eps.admit, up, down))
    fits = (shifted > prev_end) & (shifted <= eps.admit)
    enrollment_day = np.where(mismatch & fits, shifted, first).astype(np.int32)
    recorded = np.array([a.records_first_contact for a in _ACCESS])[eps.site]
    return (AdmittedRequests(logged, first, intake, has_intake, site, program),
            FirstContact(enrollment_day, recorded))


def _others_by_site(admitted: AdmittedRequests) -> np.ndarray:
    """Requests not admitted that would give each site its admitted share."""
    per_site = np.bincount(admitted.site[admitted.logged], minlength=len(P.SITES))
    return per_site * np.array([1 / a.admitted_share - 1 for a in _ACCESS])


def default_other_count(admitted: AdmittedRequests) -> int:
    """The number of requests not admitted at the sites' admitted shares."""
    return int(np.rint(_others_by_site(admitted).sum()))


def _new_patients(count: int, taken: np.ndarray, capacity: int,
                  rng: np.random.Generator) -> np.ndarray:
    """`count` distinct patient numbers in 1..capacity, none of them in `taken`."""
    if count > capacity - len(taken):
        raise ReferralCountError(f"--referrals: {count} new patients do not fit in "
                                 f"{len(str(capacity))}-digit patient ids")
    found = np.empty(0, dtype=np.int64)
    while len(found) < count:
        need = count - len(found)
        draw = rng.integers(1, capacity + 1, int(need * 1.2) + 64)
        pool = np.concatenate([found, draw])
        _, first = np.unique(pool, return_index=True)
        pool = pool[np.sort(first)]  # distinct, in draw order
        found = pool[~np.isin(pool, taken)][:count]
    return found


def make_others(eps: Episodes, admitted: AdmittedRequests, count: int, patient_capacity: int,
                rng: np.random.Generator, data_end: int) -> Referrals:
    """`count` requests that did not lead to an admission, spread over the sites
    like the default count."""
    weights = _others_by_site(admitted)
    if weights.sum() == 0:
        weights = np.array([s.share for s in P.SITES])
    site = codes_from_p(rng.random(count), weights)
    adolescent_p = np.array([s.adolescent_share for s in P.SITES])[site]
    program = (rng.random(count) < adolescent_p).astype(np.int8)

    # First contacts spread like admissions (a slowly growing volume), over the
    # admission window and the month before it; the tiny site's only since it opened.
    start = data_end - P.ADMISSION_WINDOW_DAYS - P.PRE_ADMISSION_DAYS + 1
    span = np.where(site == P.TINY_SITE, P.TINY_SITE_OPENED_DAYS_AGO, data_end - start + 1)
    t = np.where(rng.random(count) < 0.85, rng.random(count), rng.triangular(0, 1, 1, count))
    first = to_weekday((data_end - span + 1 + (t * span).astype(np.int32)).astype(np.int32),
                       data_end)

    # Earlier attempts by patients admitted later: that patient's first episode's
    # site and program, some weeks before its first contact.
    earlier = rng.random(count) < P.EARLIER_ATTEMPT_P
    candidates = np.flatnonzero(admitted.logged & (previous_discharge(eps) == NO_PREVIOUS)
                                & (admitted.site != P.TINY_SITE))
    if len(candidates) == 0:
        earlier[:] = False
        candidates = np.zeros(1, dtype=np.int64)
    pick = candidates[rng.integers(0, len(candidates), count)]
    gap = P.EARLIER_ATTEMPT_GAP[0] + rng.exponential(P.EARLIER_ATTEMPT_GAP[1], count)
    before = admitted.first_contact[pick] - gap.astype(np.int32)
    before = before - np.maximum((before + 3) % 7 - 4, 0)
    site = np.where(earlier, admitted.site[pick], site).astype(np.int8)
    program = np.where(earlier, admitted.program[pick], program).astype(np.int8)
    first = np.where(earlier, before, first).astype(np.int32)

    patient = np.empty(count, dtype=np.int64)
    patient[earlier] = eps.patient[pick[earlier]]
    patient[~earlier] = _new_patients(int((~earlier).sum()), np.unique(eps.patient),
                                      patient_capacity, rng)

    source = codes_by_group(rng.random(count), program, P.OTHER_REFERRAL_P)
    # A recent request may still be pending; an earlier attempt never is (the
    # patient's later request was admitted).
    age = data_end - first
    pending = (rng.random(count) < P.PENDING_P * np.clip(1 - age / P.PENDING_DAYS, 0, None)) & (
        ~earlier)
    outcome = codes_from_mapping(rng.random(count), P.OTHER_OUTCOME_P, P.REFERRAL_OUTCOMES)
    outcome = np.where(pending, PENDING, outcome).astype(np.int8)

    intake_p = np.zeros(len(P.REFERRAL_OUTCOMES))
    for name, p in P.INTAKE_P_BY_OUTCOME.items():
        intake_p[P.REFERRAL_OUTCOMES.index(name)] = p
    median, sigma = P.INTAKE_WAIT
    days = np.rint(median * np.exp(sigma * rng.standard_normal(count))).astype(np.int32)
    intake = _weekday_between(first + days, first, np.full(count, data_end))
    has_intake = (rng.random(count) < intake_p[outcome]) & (intake <= data_end)
    return Referrals(patient, site, program, first, intake, has_intake, outcome,
                     np.full(count, NO_EPISODE, dtype=np.int32), source)


def make_referrals(eps: Episodes, admitted: AdmittedRequests, other_count: int,
                   patient_capacity: int, rng: np.random.Generator, data_end: int) -> Referrals:
    """Admitted requests (those in the log) and `other_count` others, in referral_id order."""
    logged = np.flatnonzero(admitted.logged).astype(np.int32)
    mine = Referrals(eps.patient[logged], admitted.site[logged], admitted.program[logged],
                     admitted.first_contact[logged], admitted.intake[logged],
                     admitted.has_intake[logged], np.full(len(logged), ADMITTED, dtype=np.int8),
                     logged, eps.referral[logged].astype(np.int8))
    others = make_others(eps, admitted, other_count, patient_capacity, rng, data_end)
    both = {name: np.concatenate([getattr(mine, name), getattr(others, name)])
            for name in Referrals.__dataclass_fields__}
    order = np.lexsort((rng.random(len(both["first_contact"])), both["first_contact"]))
    return Referrals(**{name: values[order] for name, values in both.items()})

"""Synthetic treatment episodes: patients, admissions, discharges and readmissions.

Everything is drawn per array of episodes (numpy), never in a Python loop over
episodes, so 330,000 episodes take well under a second.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import parameters as P
from sample_data.draws import codes_by_group, codes_from_p, to_weekday


@dataclass(frozen=True)
class Roster:
    """The clinicians of every site, with the effects that make them differ."""
    site: np.ndarray  # int8 site index per clinician
    names: tuple[str, ...]  # "Clinician N03"
    no_show_logit: np.ndarray  # added to a patient's no-show logit
    unplanned_multiplier: np.ndarray  # scales the odds of an unplanned discharge
    first: np.ndarray  # first clinician index of each site
    count: np.ndarray  # clinicians per site


@dataclass(frozen=True)
class Episodes:
    """One entry per episode, sorted by admission date (the episode_id order)."""
    patient: np.ndarray  # int64 pseudonymous patient number
    site: np.ndarray  # int8 index into P.SITES
    program: np.ndarray  # int8 index into P.PROGRAMS
    clinician: np.ndarray  # int16 index into Roster.names: the primary counsellor
    admit: np.ndarray  # int32 days since 1970-01-01
    end: np.ndarray  # int32 discharge day; after the data end for active episodes
    reason: np.ndarray  # int8 index into P.REASONS (shown only once discharged)
    planned_weeks: np.ndarray  # int8
    engagement: np.ndarray  # float64, higher = more likely to miss and drop out
    payer: np.ndarray
    referral: np.ndarray
    substance: np.ndarray
    age_group: np.ndarray
    sex: np.ndarray

    def __len__(self) -> int:
        return len(self.admit)


def day_number(d) -> int:
    """Days since 1970-01-01 (the int32 date representation used throughout)."""
    return (d - P.EPOCH).days


def make_roster(n_episodes: int, rng: np.random.Generator) -> Roster:
    """Clinicians per site in proportion to the site's expected volume."""
    counts = []
    for i, site in enumerate(P.SITES):
        expected = P.TINY_SITE_EPISODES if i == P.TINY_SITE else n_episodes * site.share
        counts.append(int(np.clip(np.ceil(expected / P.EPISODES_PER_CLINICIAN), 2, 99)))
    count = np.array(counts, dtype=np.int16)
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int16)
    site = np.repeat(np.arange(len(P.SITES), dtype=np.int8), count)
    names = tuple(f"Clinician {P.SITES[s].code}{k + 1:02d}"
                  for s in range(len(P.SITES)) for k in range(counts[s]))
    # Evenly spread effects, shuffled within each site, so every site has a
    # visibly better and a visibly worse clinician whatever the seed.
    ns = np.empty(len(site))
    up = np.empty(len(site))
    for s in range(len(P.SITES)):
        sl = slice(first[s], first[s] + count[s])
        ns[sl] = rng.permutation(np.linspace(*P.CLINICIAN_NO_SHOW_SPREAD, count[s]))
        up[sl] = rng.permutation(np.linspace(*P.CLINICIAN_UNPLANNED_SPREAD, count[s]))
    return Roster(site, names, ns, up, first, count)


def pick_clinicians(site: np.ndarray, roster: Roster, rng: np.random.Generator) -> np.ndarray:
    """A primary clinician at the episode's site; caseloads are uneven (squared uniform)."""
    u = rng.random(len(site)) ** 1.6
    k = np.minimum((u * roster.count[site]).astype(np.int16), roster.count[site] - 1)
    return (roster.first[site] + k).astype(np.int16)


def _course(rng: np.random.Generator, site: np.ndarray, program: np.ndarray,
            clinician: np.ndarray, engagement: np.ndarray, roster: Roster):
    """Planned weeks, discharge reason and length of stay (days) of new episodes."""
    n = len(site)
    planned_code = codes_by_group(rng.random(n), program, P.PLANNED_WEEKS_P)
    planned = np.array(P.PLANNED_WEEKS, dtype=np.int8)[planned_code]

    base = np.array([P.REASON_P[r] for r in P.REASONS])
    probs = np.tile(base, (n, 1))
    site_mult = np.array([s.unplanned_multiplier for s in P.SITES])[site]
    mult = site_mult * roster.unplanned_multiplier[clinician] * np.exp(0.35 * engagement)
    for name in ("dropped_out", "terminated"):
        probs[:, P.REASONS.index(name)] *= mult
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(n) * cdf[:, -1]
    reason = np.minimum((cdf <= u[:, None]).sum(axis=1), len(base) - 1).astype(np.int8)

    planned_days = planned.astype(np.int32) * 7
    lo, width, a, b = P.COMPLETER_SHARE_OF_PLAN
    completed = planned_days * (lo + width * rng.beta(a, b, n))
    # Other endings: a week from the reason's weights, restricted to the
    # planned weeks, then a day in that week.
    weeks = np.zeros(n, dtype=np.int32)
    u = rng.random(n)
    for name, weights in P.EXIT_WEEK_WEIGHTS.items():
        for pw in P.PLANNED_WEEKS:
            mask = (reason == P.REASONS.index(name)) & (planned == pw)
            weeks[mask] = codes_from_p(u[mask], weights[:pw - P.UNPLANNED_FREE_WEEKS])
    exit_day = 7 * weeks + rng.integers(1, 8, n)
    noncompleted = reason != P.REASONS.index("completed")
    los = np.where(noncompleted, exit_day, np.rint(completed)).astype(np.int32)
    return planned, reason, los


def _patient_attributes(rng: np.random.Generator, n: int, program: np.ndarray):
    sex = codes_from_p(rng.random(n), P.SEX[1])
    age = codes_by_group(rng.random(n), program, P.AGE_GROUP[1])
    substance = codes_by_group(rng.random(n), program, P.SUBSTANCE[1])
    payer = codes_from_p(rng.random(n), P.PAYER[1])
    return sex, age, substance, payer


def make_episodes(n: int, rng: np.random.Generator, data_end: int) -> tuple[Episodes, Roster]:
    """Exactly `n` episodes: first admissions, then readmissions after a discharge."""
    roster = make_roster(n, rng)
    start = data_end - P.ADMISSION_WINDOW_DAYS + 1
    main_sites = [i for i in range(len(P.SITES)) if i != P.TINY_SITE]

    # Stage 1: one first admission per patient. Drawing n patients always yields
    # at least n episodes; the surplus is cut off below.
    patients = np.arange(n, dtype=np.int64)
    site = np.array(main_sites, dtype=np.int8)[
        codes_from_p(rng.random(n), [P.SITES[i].share for i in main_sites])]
    adolescent_p = np.array([s.adolescent_share for s in P.SITES])[site]
    program = (rng.random(n) < adolescent_p).astype(np.int8)
    sex, age, substance, payer = _patient_attributes(rng, n, program)
    # Admissions grow slightly over the window: 85% uniform, 15% rising triangle.
    t = np.where(rng.random(n) < 0.85, rng.random(n), rng.triangular(0, 1, 1, n))
    admit = to_weekday(start + (t * P.ADMISSION_WINDOW_DAYS).astype(np.int32), data_end)
    engagement = rng.standard_normal(n)

    stages = []
    idx = np.arange(n)  # which patient each stage entry belongs to
    for stage in range(P.MAX_EPISODES_PER_PATIENT):
        clinician = pick_clinicians(site, roster, rng)
        planned, reason, los = _course(rng, site, program, clinician, engagement, roster)
        referral = codes_by_group(rng.random(len(idx)), program, P.REFERRAL[1])
        end = admit + los - 1
        # Discharges fall on weekdays: a weekend discharge moves back to Friday.
        end = (end - np.maximum((end + 3) % 7 - 4, 0)).astype(np.int32)
        stages.append(dict(order=np.full(len(idx), stage), patient=patients[idx], site=site,
                           program=program, clinician=clinician, admit=admit, end=end,
                           reason=reason, planned_weeks=planned, engagement=engagement,
                           payer=payer, referral=referral, substance=substance,
                           age_group=age, sex=sex))
        # Readmission: after a discharge (never after death), a gap, a new episode.
        readmit_p = np.array([P.READMIT_P[r] for r in P.REASONS])[reason]
        gap = P.READMIT_GAP[0] + rng.exponential(P.READMIT_GAP[1], len(idx))
        new_admit = to_weekday((end + 1 + gap).astype(np.int32), data_end)
        again = (end < data_end) & (rng.random(len(idx)) < readmit_p) & (new_admit <= data_end)
        # Most come back to the same site; some move to another main site.
        moved = rng.random(len(idx)) < 0.1
        other = np.array(main_sites, dtype=np.int8)[
            codes_from_p(rng.random(len(idx)), [P.SITES[i].share for i in main_sites])]
        site = np.where(moved, other, site)[again]
        idx, program, admit = idx[again], program[again], new_admit[again]
        sex, age, substance, payer = sex[again], age[again], substance[again], payer[again]
        engagement = (0.7 * engagement + 0.7 * rng.standard_normal(len(again)))[again]
        if len(idx) == 0:
            break

    cols = {k: np.concatenate([s[k] for s in stages]) for k in stages[0]}
    # Each patient's episodes contiguous, in stage order; cutting the tail to n
    # removes only later episodes of the last patient, never a first admission.
    keep = np.lexsort((cols["order"], cols["patient"]))[:n]
    cols = {k: v[keep] for k, v in cols.items()}

    # The tiny site: a few patients with a single episode move there.
    n_tiny = min(P.TINY_SITE_EPISODES, n // 20)
    if n_tiny:
        counts = np.bincount(cols["patient"], minlength=n)
        # A site opened recently: its few patients were admitted in the last months.
        recent = cols["admit"] > data_end - P.TINY_SITE_OPENED_DAYS_AGO
        single = np.flatnonzero((counts[cols["patient"]] == 1) & (cols["program"] == P.ADULT)
                                & recent)
        chosen = rng.choice(single, size=min(n_tiny, len(single)), replace=False)
        cols["site"][chosen] = P.TINY_SITE
        cols["clinician"][chosen] = pick_clinicians(cols["site"][chosen], roster, rng)

    # episode_id order: by admission day, ties in a random order.
    order = np.lexsort((rng.random(n), cols["admit"]))
    cols = {k: v[order] for k, v in cols.items()}
    # Pseudonymous patient numbers: distinct, unordered.
    numbers = rng.choice(max(10 * n, 10**6), size=n, replace=False) + 1
    cols["patient"] = numbers[cols["patient"]]
    del cols["order"]
    return Episodes(**cols), roster

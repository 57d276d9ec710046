"""Synthetic instrument scores: PHQ-9, GAD-7, the BAM's three subscales, drug screens.

Scores are taken on days the patient attended (one chosen day per cadence window
of the instrument), or at the intake assessment in the month before admission,
so they stop at discharge, at the data end and where a site's export lags.
Every window may be missed; improvement grows with the episode's attendance.
All drawn per array: no Python loop over episodes or windows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_data import parameters as P
from sample_data.episodes import Episodes
from sample_data.referrals import AdmittedRequests
from sample_data.sessions import ATTENDED, PROGRAM_CANCELLED, Sessions

INSTRUMENT = {name: i for i, name in enumerate(P.INSTRUMENTS)}
_MEASURES = tuple(P.SITE_MEASURES[s.name] for s in P.SITES)


@dataclass(frozen=True)
class Assessments:
    """One entry per score, in assessment_id order: episode, date, instrument."""
    episode: np.ndarray  # int32 index into Episodes
    day: np.ndarray  # int32 days since 1970-01-01
    instrument: np.ndarray  # int8 index into P.INSTRUMENTS
    score: np.ndarray  # int16

    def __len__(self) -> int:
        return len(self.day)


@dataclass(frozen=True)
class _Windows:
    """One chosen day per (episode, cadence window) that has an attended day."""
    episode: np.ndarray
    index: np.ndarray  # window number k
    day: np.ndarray


def attended_share(eps: Episodes, sessions: Sessions) -> np.ndarray:
    """Attended over scheduled sessions (program cancellations left out), per episode;
    0 for an episode without sessions."""
    attended = np.bincount(sessions.episode, weights=sessions.status == ATTENDED,
                           minlength=len(eps))
    scheduled = np.bincount(sessions.episode, weights=sessions.status != PROGRAM_CANCELLED,
                            minlength=len(eps))
    return np.divide(attended, scheduled, out=np.zeros(len(eps)), where=scheduled > 0)


def _attended_days(sessions: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """(episode, day) of every day with an attended session, in episode and date order."""
    attended = sessions.status == ATTENDED
    ep, day = sessions.episode[attended], sessions.day[attended]
    first = np.ones(len(ep), dtype=bool)
    first[1:] = (ep[1:] != ep[:-1]) | (day[1:] != day[:-1])
    return ep[first], day[first]


def _windows(eps: Episodes, ep: np.ndarray, day: np.ndarray, every: int,
             rng: np.random.Generator) -> _Windows:
    """A day per window: the first attended day in window 0 (the intake), a random
    attended day in the later ones. Days are sorted, so each window is a run."""
    k = (day - eps.admit[ep]) // every
    start = np.ones(len(ep), dtype=bool)
    start[1:] = (ep[1:] != ep[:-1]) | (k[1:] != k[:-1])
    starts = np.flatnonzero(start)
    sizes = np.diff(np.append(starts, len(ep)))
    pick = starts + (rng.random(len(starts)) * sizes).astype(np.int64)
    pick = np.where(k[starts] == 0, starts, pick)
    return _Windows(ep[pick], k[pick].astype(np.int32), day[pick])


def _with_intake_day(w: _Windows, intake_day: np.ndarray) -> np.ndarray:
    """Window days, window 0 moved to the episode's pre-admission intake if it has one."""
    moved = (w.index == 0) & (intake_day[w.episode] >= 0)
    return np.where(moved, intake_day[w.episode], w.day).astype(np.int32)


def _intake_scores_day(eps: Episodes, admitted: AdmittedRequests,
                       rng: np.random.Generator) -> np.ndarray:
    """Per episode, the day its intake scores were taken before admission, else -1:
    the logged intake assessment when it fell in the month before admission, for
    some of those (the others are scored on the admission day)."""
    ok = (admitted.logged & admitted.has_intake & (admitted.intake < eps.admit)
          & (admitted.intake >= eps.admit - P.PRE_ADMISSION_DAYS)
          & (rng.random(len(eps)) < P.BASELINE_AT_INTAKE_P))
    return np.where(ok, admitted.intake, -1).astype(np.int32)


def _measured(w: _Windows, eps: Episodes, baseline: np.ndarray, follow_up: np.ndarray,
              rng: np.random.Generator) -> np.ndarray:
    """Which windows get a score: the site's intake chance in window 0, its
    follow-up chance in the later ones."""
    p = np.where(w.index == 0, baseline[eps.site[w.episode]], follow_up[eps.site[w.episode]])
    return rng.random(len(w.index)) < p


def _scores(level: np.ndarray, instrument: str, rng: np.random.Generator) -> np.ndarray:
    """Whole scores in the instrument's range: the expected level plus occasion noise."""
    noisy = level + P.SCORE_NOISE_SD[instrument] * rng.standard_normal(len(level))
    return np.clip(np.rint(noisy), 0, P.SCORE_MAX[instrument]).astype(np.int16)


def _gain(params: tuple[float, float], share: np.ndarray) -> np.ndarray:
    """Expected change by the end of care, growing with the attended share.

    >>> _gain((0.4, 1.2), np.array([0.75, 0.5])).round(2).tolist()
    [0.4, 0.1]
    """
    typical, per_attendance = params
    return typical + per_attendance * (share - P.TYPICAL_ATTENDED_SHARE)


def _correlated(z: np.ndarray, r: float, rng: np.random.Generator) -> np.ndarray:
    """Standard normal draws with correlation `r` to `z`."""
    return r * z + np.sqrt(1 - r * r) * rng.standard_normal(len(z))


def _progress(days: np.ndarray, tau: float) -> np.ndarray:
    """Share of the episode's eventual change reached `days` after admission."""
    return 1.0 - np.exp(-np.maximum(days, 0) / tau)


@dataclass(frozen=True)
class _Course:
    """Each episode's hidden course, drawn once: distress, response, baselines."""
    share: np.ndarray  # attended share of sessions
    z_dep: np.ndarray  # distress (PHQ-9), standard normal
    z_anx: np.ndarray  # anxiety (GAD-7), correlated with distress
    response: np.ndarray  # scales the expected improvement
    worse: np.ndarray  # bool: deteriorates instead
    worse_phq: np.ndarray  # points gained by a deteriorating episode
    worse_gad: np.ndarray
    use_base: np.ndarray  # BAM baselines
    risk_base: np.ndarray
    protective_base: np.ndarray
    uds_effect: np.ndarray  # logit shift of drug-screen positivity


def _draw_course(eps: Episodes, share: np.ndarray, rng: np.random.Generator) -> _Course:
    n = len(eps)
    z_dep = rng.standard_normal(n)
    z_anx = _correlated(z_dep, P.DEP_ANX_CORRELATION, rng)
    response = 1.0 + P.RESPONSE_SD * rng.standard_normal(n)
    worse = rng.random(n) < P.DETERIORATION_P
    worse_phq = rng.uniform(*P.DETERIORATION_RISE["phq9"], n)
    worse_gad = rng.uniform(*P.DETERIORATION_RISE["gad7"], n)
    step_down = eps.referral == P.REFERRAL[0].index("Inpatient step-down")
    mean, sd = (np.where(step_down, a, b)
                for a, b in zip(P.BAM_USE_BASELINE_STEP_DOWN, P.BAM_USE_BASELINE))
    use_base = mean + sd * rng.standard_normal(n)
    risk_base = P.BAM_RISK_BASELINE[0] + P.BAM_RISK_BASELINE[1] * _correlated(
        z_dep, P.BAM_DISTRESS_LOADING["bam_risk"], rng)
    protective_base = P.BAM_PROTECTIVE_BASELINE[0] + P.BAM_PROTECTIVE_BASELINE[1] * _correlated(
        z_dep, P.BAM_DISTRESS_LOADING["bam_protective"], rng)
    uds_effect = P.UDS_RANDOM_SD * rng.standard_normal(n)
    return _Course(share, z_dep, z_anx, response, worse, worse_phq, worse_gad, use_base,
                   risk_base, protective_base, uds_effect)


# (episode, day, instrument, score) arrays of one instrument's scores.
_Rows = tuple[np.ndarray, np.ndarray, int, np.ndarray]


def _mood_rows(name: str, base: np.ndarray, drop: tuple[float, float], rise: np.ndarray,
               eps: Episodes, c: _Course, ep: np.ndarray, day: np.ndarray,
               rng: np.random.Generator) -> _Rows:
    """PHQ-9 or GAD-7 scores: improving with attendance, or deteriorating."""
    start = np.maximum(base, 0)[ep]
    t = _progress(day - eps.admit[ep], P.IMPROVEMENT_TAU_DAYS)
    better = start * (1 - _gain(drop, c.share[ep]) * c.response[ep] * t)
    level = np.where(c.worse[ep], start + rise[ep] * t, better)
    return ep, day, INSTRUMENT[name], _scores(level, name, rng)


def _bam_rows(eps: Episodes, c: _Course, ep: np.ndarray, day: np.ndarray,
              rng: np.random.Generator) -> list[_Rows]:
    """The BAM's use, risk and protective scores, all on the same days."""
    t_use = _progress(day - eps.admit[ep], P.BAM_USE_TAU_DAYS)
    t = _progress(day - eps.admit[ep], P.IMPROVEMENT_TAU_DAYS)
    use_drop = np.clip(_gain(P.BAM_USE_DROP, c.share[ep]) * c.response[ep], 0, 1)
    levels = {
        "bam_use": np.maximum(c.use_base, 0)[ep] * (1 - use_drop * t_use),
        "bam_risk": np.maximum(c.risk_base, 0)[ep] * (
            1 - _gain(P.BAM_RISK_DROP, c.share[ep]) * c.response[ep] * t),
        "bam_protective": c.protective_base[ep] + _gain(
            P.BAM_PROTECTIVE_GAIN, c.share[ep]) * c.response[ep] * t,
    }
    return [(ep, day, INSTRUMENT[name], _scores(level, name, rng))
            for name, level in levels.items()]


def _uds_rows(eps: Episodes, c: _Course, ep: np.ndarray, day: np.ndarray,
              rng: np.random.Generator) -> _Rows:
    """Drug screens: positivity falls over the program weeks."""
    week = np.minimum(np.maximum(day - eps.admit[ep], 0) // 7, P.UDS_WEEK_CAP)
    substance = np.array([P.UDS_SUBSTANCE_SHIFT[s] for s in P.SUBSTANCE[0]])[eps.substance[ep]]
    logit = (P.UDS_LOGIT[0] + P.UDS_LOGIT[1] * week
             + P.UDS_ATTENDANCE_SHIFT * (c.share[ep] - P.TYPICAL_ATTENDED_SHARE)
             + P.UDS_ENGAGEMENT_SHIFT * eps.engagement[ep] + substance + c.uds_effect[ep])
    positive = rng.random(len(ep)) < 1.0 / (1.0 + np.exp(-logit))
    return ep, day, INSTRUMENT["uds"], positive.astype(np.int16)


def make_assessments(eps: Episodes, sessions: Sessions, admitted: AdmittedRequests,
                     rng: np.random.Generator) -> Assessments:
    """Every score of every episode, up to discharge, the data end or the site's lag."""
    pre = _intake_scores_day(eps, admitted, rng)
    ep_days, days = _attended_days(sessions)
    c = _draw_course(eps, attended_share(eps, sessions), rng)
    site_values = {field: np.array([getattr(m, field) for m in _MEASURES])
                   for field in ("baseline", "follow_up", "uds_baseline", "uds_follow_up",
                                 "uses_bam")}
    baseline, follow_up = site_values["baseline"], site_values["follow_up"]
    parts: list[_Rows] = []

    # PHQ-9 and GAD-7: fortnightly windows, usually on the same day.
    w = _windows(eps, ep_days, days, P.CADENCE_DAYS["phq9"], rng)
    day = _with_intake_day(w, pre)
    phq = _measured(w, eps, baseline, follow_up, rng)
    gad = rng.random(len(phq)) < np.where(phq, P.GAD7_WITH_PHQ9_P, P.GAD7_ALONE_P)
    parts.append(_mood_rows("phq9", P.PHQ9_BASELINE[0] + P.PHQ9_BASELINE[1] * c.z_dep,
                            P.PHQ9_DROP, c.worse_phq, eps, c, w.episode[phq], day[phq], rng))
    parts.append(_mood_rows("gad7", P.GAD7_BASELINE[0] + P.GAD7_BASELINE[1] * c.z_anx,
                            P.GAD7_DROP, c.worse_gad, eps, c, w.episode[gad], day[gad], rng))

    # BAM: monthly, adults at the sites that use it.
    w = _windows(eps, ep_days, days, P.CADENCE_DAYS["bam"], rng)
    day = _with_intake_day(w, pre)
    bam = (_measured(w, eps, baseline, follow_up, rng)
           & site_values["uses_bam"][eps.site[w.episode]] & (eps.program[w.episode] == P.ADULT))
    parts += _bam_rows(eps, c, w.episode[bam], day[bam], rng)

    # Drug screens: weekly windows.
    w = _windows(eps, ep_days, days, P.CADENCE_DAYS["uds"], rng)
    day = _with_intake_day(w, pre)
    uds = _measured(w, eps, site_values["uds_baseline"], site_values["uds_follow_up"], rng)
    parts.append(_uds_rows(eps, c, w.episode[uds], day[uds], rng))

    episode = np.concatenate([p[0] for p in parts]).astype(np.int32)
    day = np.concatenate([p[1] for p in parts]).astype(np.int32)
    instrument = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    score = np.concatenate([p[3] for p in parts]).astype(np.int16)
    order = np.lexsort((instrument, day, episode))
    return Assessments(episode[order], day[order], instrument[order], score[order])

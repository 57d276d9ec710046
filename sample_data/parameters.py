"""The calibration numbers of the synthetic data: sites, programs, vocabularies, rates.

Every figure the generator draws from lives here, with the public source it
was calibrated to (see ../../shared/domain.md and docs/sample-data.md), so a
reader can check the realism claims without reading numpy code.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from analytics.store.schema import (
    DISCHARGE_REASONS, SESSION_STATUSES, SESSION_TYPES, UNPLANNED_REASONS,
)

# A fixed "data as of" date, never today's date, so the output is reproducible.
DATA_END = dt.date(2026, 10, 31)
# Admissions are spread over this many days ending on DATA_END (about two years).
ADMISSION_WINDOW_DAYS = 730
# One small site's session export stops this many days before DATA_END (a data lag).
LAG_DAYS = 21

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Site:
    name: str
    code: str  # letter used in clinician names, e.g. "Clinician N03"
    share: float  # share of episodes (the tiny site gets a fixed count instead)
    four_day_share: float  # share of episodes scheduled 4 days a week (else 3)
    no_show_base: float  # a typical patient's probability of missing a session day
    unplanned_multiplier: float  # scales the odds of dropped_out / terminated
    partial_share: float  # share of attended sessions left early or joined late
    adolescent_share: float
    session_lag: bool = False


# Sites differ on purpose (no-shows, dropout, dose) so comparisons show something.
SITES: tuple[Site, ...] = (
    Site("Northgate", "N", 0.32, 0.95, 0.12, 0.75, 0.05, 0.20),
    Site("Riverside", "R", 0.28, 0.70, 0.19, 1.00, 0.07, 0.15),
    Site("Hillcrest", "H", 0.24, 0.30, 0.26, 1.35, 0.10, 0.25),
    Site("Lakeview", "L", 0.16, 0.65, 0.18, 1.00, 0.07, 0.20, session_lag=True),
    Site("Pinewood", "P", 0.0, 0.50, 0.18, 1.00, 0.06, 0.0),
)
TINY_SITE = len(SITES) - 1
# Fewer than 10 episodes, so small-cell suppression (threshold 11) has work to do.
TINY_SITE_EPISODES = 6
# ... because it opened recently: its patients were admitted in the last 150 days.
TINY_SITE_OPENED_DAYS_AGO = 150
# One clinician per this many expected episodes at a site (2 to 99 per site).
EPISODES_PER_CLINICIAN = 25

PROGRAMS: tuple[str, ...] = ("Adult IOP", "Adolescent IOP")
ADULT, ADOLESCENT = 0, 1

# Planned length in weeks (the program's design), by program.
PLANNED_WEEKS = (8, 10, 12)
PLANNED_WEEKS_P = {ADULT: (0.60, 0.25, 0.15), ADOLESCENT: (0.70, 0.25, 0.05)}

# TEDS 2004, intensive outpatient discharges (n = 114,440): completed 37.7%,
# transferred 17.9%, dropped out 23.2%, terminated 14.0%, other 7.2% (of which
# incarcerated and death are small, TEDS-D 2019: 1.5% and 0.2% of all discharges).
REASONS: tuple[str, ...] = DISCHARGE_REASONS
UNPLANNED: tuple[str, ...] = UNPLANNED_REASONS
REASON_P: dict[str, float] = {
    "completed": 0.377, "dropped_out": 0.232, "terminated": 0.140, "transferred": 0.179,
    "incarcerated": 0.012, "death": 0.003, "other": 0.057,
}
# Length of stay (days, admission and discharge day both counted) of the endings
# other than completion: the week of discharge is drawn from these weights,
# restricted to weeks 1..planned_weeks, then a day within that week. Unplanned
# endings are front-loaded, so their hazard peaks in weeks 1 to 4. Calibrated to
# TEDS 2004 IOP adults (median 41 days overall, completers 50, dropouts 26,
# terminated 36) and "37% left before day 30". Our stays end by the planned
# length, so TEDS's long tail (mean about 70 days) is not reproduced, and keeping
# the hazard peak in weeks 1-4 puts dropouts' and terminations' medians a few
# days under TEDS's (about 21 and 26 days; docs/sample-data.md).
EXIT_WEEK_WEIGHTS: dict[str, tuple[float, ...]] = {
    #               w1    w2    w3    w4    w5    w6    w7    w8    w9   w10   w11   w12
    "dropped_out": (.12, .17, .17, .15, .11, .08, .06, .05, .03, .02, .02, .02),
    "terminated": (.06, .12, .15, .15, .13, .11, .09, .07, .05, .03, .02, .02),
    "transferred": (.06, .10, .12, .13, .13, .12, .10, .08, .06, .04, .03, .03),
    "incarcerated": (.06, .10, .12, .13, .13, .12, .10, .08, .06, .04, .03, .03),
    "death": (.08, .08, .09, .09, .09, .09, .09, .09, .08, .08, .07, .07),
    "other": (.08, .11, .12, .12, .12, .11, .10, .08, .06, .04, .03, .03),
}
# No unplanned or other ending in the plan's last week(s): they belong to completers.
UNPLANNED_FREE_WEEKS = 1
# Completers stay this share of their planned days: low + width * Beta(a, b).
COMPLETER_SHARE_OF_PLAN = (0.82, 0.18, 2.0, 2.0)

# Readmission: chance that a discharged episode is followed by another one, by reason
# (never after death), and the gap to it: 7 days + exponential(mean 120 days).
READMIT_P: dict[str, float] = {
    "completed": 0.07, "dropped_out": 0.22, "terminated": 0.16, "transferred": 0.05,
    "incarcerated": 0.10, "death": 0.0, "other": 0.10,
}
READMIT_GAP = (7, 120.0)
MAX_EPISODES_PER_PATIENT = 3

# Sessions. Types: the five IOP components plus one non-core type kept as given.
TYPES: tuple[str, ...] = SESSION_TYPES + ("case_management",)
STATUSES: tuple[str, ...] = SESSION_STATUSES
# Weekday patterns (Monday = 0) for 3- and 4-day schedules.
FOUR_DAY_PATTERNS: tuple[tuple[int, ...], ...] = ((0, 1, 2, 3),)
THREE_DAY_PATTERNS: tuple[tuple[int, ...], ...] = ((0, 1, 3), (0, 2, 4), (1, 2, 3))
# Session rows per session day (1, 2 or 3), by program.
ROWS_PER_DAY_P = {ADULT: (0.30, 0.55, 0.15), ADOLESCENT: (0.40, 0.52, 0.08)}
# Session type by position in the day: the first block is mostly group.
TYPE_P_FIRST = {"group": 0.86, "life_skills": 0.07, "relapse_prevention": 0.07}
TYPE_P_LATER = {
    ADULT: {"individual": 0.31, "relapse_prevention": 0.26, "life_skills": 0.20,
            "family": 0.10, "group": 0.05, "case_management": 0.08},
    ADOLESCENT: {"individual": 0.27, "relapse_prevention": 0.18, "life_skills": 0.20,
                 "family": 0.27, "group": 0.03, "case_management": 0.05},
}
# Scheduled minutes of the first block by rows that day: ((minutes...), (p...)).
# Later blocks are 60 minutes (45 on three-block days; case management 30).
# Session days total 1 to 3 hours.
FIRST_BLOCK_MINUTES = {
    ADULT: {1: ((180, 120), (0.95, 0.05)), 2: ((120, 90), (0.9, 0.1)), 3: ((90,), (1.0,))},
    ADOLESCENT: {1: ((120, 90, 180), (0.5, 0.3, 0.2)), 2: ((90, 60), (0.6, 0.4)),
                 3: ((60,), (1.0,))},
}
INTAKE_MINUTES = 90  # the admission day is one individual intake session

# Day-level status: program cancellations, patient cancellations, no-shows.
PROGRAM_CANCELLED_P = 0.015
PATIENT_CANCELLED_P = 0.05
# Logit shifts of a patient's no-show probability.
NO_SHOW_ENGAGEMENT_SD = 0.45  # per episode, shared with the dropout risk
NO_SHOW_UNPLANNED_SHIFT = 0.35  # dropouts and terminations missed more all along
NO_SHOW_COMPLETED_SHIFT = -0.25
NO_SHOW_FADE_DAYS = 14  # dropouts' last two weeks: mostly missed
NO_SHOW_FADE_SHIFT = 1.8
# Within an attended day, a later block is sometimes skipped.
LATER_BLOCK_NO_SHOW_P = 0.03
# Clinician effects are spread evenly over this range (logit of no-show, and
# a multiplier on the odds of an unplanned discharge), then shuffled.
CLINICIAN_NO_SHOW_SPREAD = (-0.45, 0.55)
CLINICIAN_UNPLANNED_SPREAD = (0.75, 1.40)

# Extra enrollment columns: (values, probabilities).
PAYER = (("Medicaid", "Commercial", "Medicare", "State funded", "Self-pay"),
         (0.52, 0.27, 0.06, 0.10, 0.05))
REFERRAL = (("Self", "Criminal justice", "Inpatient step-down", "Primary care",
             "Family or friend", "School"),
            {ADULT: (0.30, 0.22, 0.24, 0.12, 0.12, 0.0),
             ADOLESCENT: (0.12, 0.20, 0.10, 0.08, 0.25, 0.25)})
SUBSTANCE = (("Alcohol", "Opioids", "Cannabis", "Methamphetamine", "Cocaine", "Other"),
             {ADULT: (0.38, 0.24, 0.10, 0.13, 0.10, 0.05),
              ADOLESCENT: (0.18, 0.05, 0.62, 0.05, 0.03, 0.07)})
AGE_GROUP = (("12-17", "18-25", "26-34", "35-44", "45-54", "55+"),
             {ADULT: (0.0, 0.20, 0.30, 0.24, 0.16, 0.10),
              ADOLESCENT: (1.0, 0.0, 0.0, 0.0, 0.0, 0.0)})
SEX = (("male", "female", "unknown"), (0.61, 0.385, 0.005))


# ---- Requests for service (referrals.csv) and the enrollments' first_contact_date ----
# One referral row per request for service, admitted or not. An admitted referral
# is linked to its episode; the others end in one of the remaining outcomes.
REFERRAL_OUTCOMES: tuple[str, ...] = (
    "admitted", "declined", "not_eligible", "no_show", "referred_elsewhere", "pending")


@dataclass(frozen=True)
class SiteAccess:
    admitted_share: float  # admitted requests over all the site's requests for service
    wait_median_days: float  # median days from first contact to admission (before weekends)
    records_first_contact: bool = True  # False: the enrollment export leaves the column empty
    unlogged_share: float = 0.0  # episodes with no request in the referral log (walk-ins)


# Loveland & Driscoll 2014 (Subst Abuse Treat Prev Policy 9:41), one specialty
# agency, 1,822 requests: 45% lost between call and assessment and 32% between
# assessment and enrollment (under 40% admitted), median 6 days from request to
# assessment and 8 more to enrollment. Programs that worked on access (NIATx) do
# better; the target here is half to two thirds admitted and a median wait of
# about a week. Andrews & Pollack 2011 (TEDS, Illinois 2008, 66,316 episodes):
# outpatient clients waited 11 days on average. Sites differ like their other
# figures: Northgate quick, Hillcrest slow. Riverside's enrollment export has no
# first_contact_date, and a quarter of its episodes have no logged request.
SITE_ACCESS: dict[str, SiteAccess] = {
    "Northgate": SiteAccess(0.66, 6.0),
    "Riverside": SiteAccess(0.60, 8.0, records_first_contact=False, unlogged_share=0.25),
    "Hillcrest": SiteAccess(0.50, 11.0),
    "Lakeview": SiteAccess(0.60, 8.0),
    "Pinewood": SiteAccess(0.60, 7.0),
}
# Walk-ins and same-week starts: this share is admitted on the day of first
# contact or the next; the rest wait a lognormal time around the site's median
# (sigma below: a long right tail, about 6% beyond 30 days).
SAME_DAY_ADMISSION_P = 0.10
WAIT_LOG_SIGMA = 0.85
# Andrews & Pollack 2011: criminal-justice referrals waited longest (14 days),
# health-care referrals shortest (6); multipliers of the site's median.
WAIT_MULTIPLIER_BY_SOURCE: dict[str, float] = {
    "Self": 1.0, "Criminal justice": 1.35, "Inpatient step-down": 0.6, "Primary care": 0.8,
    "Family or friend": 1.0, "School": 1.1,
}
# A referral to one site admitted at another, or to the other program: rare.
REFERRAL_OTHER_SITE_P = 0.03
REFERRAL_OTHER_PROGRAM_P = 0.005
# Intake assessments: most admitted referrals had one, between first contact and
# admission (Loveland & Driscoll: request -> assessment -> enrollment); it falls
# at this Beta-distributed share of the wait.
INTAKE_P_ADMITTED = 0.90
INTAKE_SHARE_OF_WAIT = (1.3, 2.0)
# The enrollment's first_contact_date is the referral's, except for this share
# where the two systems disagree by 1 to 7 days (the enrollment's date is used).
FIRST_CONTACT_MISMATCH_P = 0.05
FIRST_CONTACT_MISMATCH_DAYS = 7
# Requests that were not admitted. Outcome mix (Loveland & Driscoll: most losses
# happen before the assessment, i.e. no-shows); pending only while recent: a
# request this many days old or less is pending with probability
# PENDING_P * (1 - age / PENDING_DAYS).
OTHER_OUTCOME_P: dict[str, float] = {
    "declined": 0.20, "not_eligible": 0.15, "no_show": 0.42, "referred_elsewhere": 0.23,
}
PENDING_DAYS = 30
PENDING_P = 0.9
# Chance that a request that was not admitted still had an intake assessment, by
# outcome (not_eligible is decided at the assessment; a no-show rarely got there),
# and the days from first contact to it: lognormal, median 6 (Loveland & Driscoll).
INTAKE_P_BY_OUTCOME: dict[str, float] = {
    "declined": 0.60, "not_eligible": 0.95, "no_show": 0.10, "referred_elsewhere": 0.70,
    "pending": 0.35,
}
INTAKE_WAIT = (6.0, 0.7)  # (median days, log sigma)
# Of the requests not admitted, this share comes from patients who were admitted
# on a later request (an earlier attempt, 7 days + exponential(mean 45) before).
EARLIER_ATTEMPT_P = 0.15
EARLIER_ATTEMPT_GAP = (7, 45.0)
# Referral sources of requests not admitted: more self and family referrals, fewer
# step-downs (those arrive with a placement already arranged). Vocabulary REFERRAL.
OTHER_REFERRAL_P = {ADULT: (0.40, 0.22, 0.10, 0.12, 0.16, 0.0),
                    ADOLESCENT: (0.15, 0.22, 0.05, 0.08, 0.28, 0.22)}

# ---- Assessments (assessments.csv): instrument scores ---------------------------
# Instruments and their score ranges in the assessments export. uds: 1 = positive
# for a non-prescribed substance.
INSTRUMENTS: tuple[str, ...] = ("phq9", "gad7", "bam_use", "bam_risk", "bam_protective", "uds")
SCORE_MAX: dict[str, int] = {"phq9": 27, "gad7": 21, "bam_use": 12, "bam_risk": 24,
                             "bam_protective": 24, "uds": 1}
# Expected cadence (days per window): PHQ-9 and GAD-7 fortnightly, the BAM monthly
# (the VA's recommended frequency; Kipu offers it "as frequently as every 7 days"),
# drug screens weekly (SAMHSA TIP 47: "not less than once a week" early in IOP).
# Window k covers admit + k*every .. admit + (k+1)*every - 1; window 0 also the
# PRE_ADMISSION_DAYS before admission.
CADENCE_DAYS: dict[str, int] = {"phq9": 14, "gad7": 14, "bam": 30, "uds": 7}
PRE_ADMISSION_DAYS = 30


@dataclass(frozen=True)
class SiteMeasures:
    baseline: float  # chance the first window (intake) is measured
    follow_up: float  # chance a later PHQ-9 (or BAM) window with an attended day is measured
    uds_baseline: float  # chance of a drug screen at intake
    uds_follow_up: float  # chance a later weekly window has one
    uses_bam: bool  # the BAM (adults only: it is validated for adults)


# Measurement completion in routine care is far below 100%: measurement-based
# care "is rarely integrated into psychotherapy" (Lewis et al. 2022, Psychiatric
# Services, a trial of implementing PHQ-9 in 12 community clinics). These rates
# are assumptions: intake measures are usually taken, follow-ups much less often.
# Sites differ: Northgate measures most and uses the BAM; Lakeview uses the BAM
# too; Hillcrest measures least. Drug screens are random, not every week, so
# their weekly completion is low by design. At the default settings this gives
# about 5 score rows per episode.
SITE_MEASURES: dict[str, SiteMeasures] = {
    "Northgate": SiteMeasures(0.95, 0.36, 0.85, 0.14, uses_bam=True),
    "Riverside": SiteMeasures(0.90, 0.24, 0.75, 0.11, uses_bam=False),
    "Hillcrest": SiteMeasures(0.85, 0.14, 0.65, 0.07, uses_bam=False),
    "Lakeview": SiteMeasures(0.90, 0.28, 0.75, 0.09, uses_bam=True),
    "Pinewood": SiteMeasures(0.95, 0.32, 0.80, 0.12, uses_bam=False),
}
# GAD-7 goes with PHQ-9: given on the same day with this chance when PHQ-9 is,
# and alone (no PHQ-9 that window) with the second.
GAD7_WITH_PHQ9_P = 0.85
GAD7_ALONE_P = 0.05
# The intake scores are taken at the pre-admission intake assessment (when the
# referral's intake fell in the 30 days before admission) with this chance,
# otherwise on the admission day.
BASELINE_AT_INTAKE_P = 0.5

# Baselines. PHQ-9: clinical range is 10 or more (domain.md); the target mean is
# about 14 at intake, SD about 5.5 (community clinics treating depression
# started at 17.6 +- 4.4, Lewis et al. 2022; an SUD intake is less selected for
# depression). GAD-7 about 11 (clinical range 8 or more), correlated 0.7 with PHQ-9.
PHQ9_BASELINE = (14.0, 5.5)
GAD7_BASELINE = (11.0, 4.8)
DEP_ANX_CORRELATION = 0.7
# BAM subscales (VA MIRECC scoring; Blueprint's cut-offs: use 1+, risk 12+,
# protective 12 or below). Use is high at intake except after a residential or
# inpatient stay (step-down: recently abstinent); risk tracks distress.
BAM_USE_BASELINE = (6.0, 3.2)
BAM_USE_BASELINE_STEP_DOWN = (2.0, 2.0)
BAM_RISK_BASELINE = (12.0, 4.0)
BAM_PROTECTIVE_BASELINE = (11.0, 4.0)
# Correlation of BAM risk and protective scores with the PHQ-9 distress factor.
BAM_DISTRESS_LOADING = {"bam_risk": 0.5, "bam_protective": -0.4}
# Improvement: the expected share of the baseline score lost by the end of care is
# typical + per_attendance * (attended share - TYPICAL_ATTENDED_SHARE), so it grows
# with attendance (attended over scheduled sessions), reached along
# 1 - exp(-days / tau). Each episode's response is scaled by a Normal(1,
# RESPONSE_SD) draw, so some barely change. NHS Talking Therapies reports reliable
# improvement for about two thirds of its paired scores; an SUD IOP with 8 to 12
# weeks and many dropouts reaches fewer (about 30% here).
TYPICAL_ATTENDED_SHARE = 0.75  # about the median episode's
PHQ9_DROP = (0.40, 1.2)  # (typical, per attendance)
GAD7_DROP = (0.36, 1.1)
BAM_USE_DROP = (0.70, 1.0)
BAM_RISK_DROP = (0.28, 0.6)
BAM_PROTECTIVE_GAIN = (4.5, 10.0)  # points gained, not a share
IMPROVEMENT_TAU_DAYS = 28.0
BAM_USE_TAU_DAYS = 14.0
RESPONSE_SD = 0.5
# Some get worse: this share of episodes rises by a uniform 5 to 10 PHQ-9 points
# (3 to 7 on GAD-7) over the episode (reliable deterioration is 6+ on PHQ-9, 4+ on
# GAD-7: domain.md).
DETERIORATION_P = 0.08
DETERIORATION_RISE = {"phq9": (5.0, 10.0), "gad7": (3.0, 7.0)}
# Occasion-to-occasion noise (SD, points): about a third of the reliable change
# index's threshold, so a single score rarely crosses it by chance.
SCORE_NOISE_SD: dict[str, float] = {"phq9": 2.0, "gad7": 1.6, "bam_use": 1.0,
                                    "bam_risk": 1.8, "bam_protective": 1.8}
# Drug screens: positive with logit = intercept + slope * program week (capped at
# UDS_WEEK_CAP) + attendance, engagement and substance effects + a per-episode random
# effect (SD). An assumption, no published curve: positivity is highest at
# intake (cocaine-dependent outpatients who never returned after intake were more
# often positive on their admission screen) and falls over the program weeks;
# routine urine screens do not detect alcohol, and cannabis stays positive longest.
UDS_LOGIT = (-0.1, -0.18)  # (intercept, per program week)
UDS_WEEK_CAP = 12
UDS_ATTENDANCE_SHIFT = -2.0  # per unit of attended share above TYPICAL_ATTENDED_SHARE
UDS_ENGAGEMENT_SHIFT = 0.4  # per SD of the episode's (dropout-related) engagement
UDS_RANDOM_SD = 1.0
UDS_SUBSTANCE_SHIFT: dict[str, float] = {
    "Alcohol": -1.2, "Opioids": 0.0, "Cannabis": 0.8, "Methamphetamine": 0.3,
    "Cocaine": 0.1, "Other": -0.3,
}
# FHIR effectiveDateTime: sites keep US Eastern time; scores are taken during
# program hours, 09:00 to 16:45 in 15-minute steps.
FHIR_FIRST_MINUTE = 9 * 60
FHIR_TIME_SLOTS = 32


def us_holidays(first_year: int, last_year: int) -> list[dt.date]:
    """Days the programs are closed (sessions scheduled then are program_cancelled).

    >>> dt.date(2025, 11, 27) in us_holidays(2025, 2025)  # Thanksgiving
    True
    """
    days: list[dt.date] = []
    for year in range(first_year, last_year + 1):
        days += [dt.date(year, 1, 1), dt.date(year, 7, 4), dt.date(year, 12, 25)]
        may31 = dt.date(year, 5, 31)
        days.append(may31 - dt.timedelta(days=may31.weekday()))  # Memorial Day
        sep1 = dt.date(year, 9, 1)
        days.append(sep1 + dt.timedelta(days=(7 - sep1.weekday()) % 7))  # Labor Day
        nov1 = dt.date(year, 11, 1)
        first_thu = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7)
        days.append(first_thu + dt.timedelta(days=21))  # Thanksgiving
    return days

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

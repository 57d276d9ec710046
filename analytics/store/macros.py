"""The table macros every analytics query starts from, and the one session rule they share.

They live in the process's in-memory catalog (not TEMP), so every cursor sees
them, and they read per-cursor variables set by queries.bind_filters(), so
concurrent sessions with different filters never see each other's values.
"""
from __future__ import annotations

import duckdb

# Why a macro: the episode selection (as_of cut, filters, site scope) must be
# identical in every metric; writing it once makes that true by construction.
SELECTED_EPISODES = """
CREATE OR REPLACE MACRO main.selected_episodes() AS TABLE
-- Episodes visible at as_of, narrowed by the user's filters and by the site scope.
-- A discharge after as_of is not known yet on that date, so it reads as active.
SELECT
    e.episode_id, e.patient_id, e.site, e.program, e.admit_date, e.planned_weeks, e.extra,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_date END AS discharge_date,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_reason END AS discharge_reason,
    getvariable('as_of') AS as_of
FROM main.enrollments AS e
WHERE e.admit_date <= getvariable('as_of')
  AND (getvariable('admitted_from') IS NULL OR e.admit_date >= getvariable('admitted_from'))
  AND (getvariable('admitted_to') IS NULL OR e.admit_date <= getvariable('admitted_to'))
  AND (len(getvariable('sites')) = 0 OR list_contains(getvariable('sites'), e.site))
  AND (len(getvariable('programs')) = 0 OR list_contains(getvariable('programs'), e.program))
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), e.site))
  -- every filtered extra column must match one of the values given for it
  AND len(list_filter(getvariable('extra_columns'),
        c -> NOT list_contains(getvariable('extra_pairs'), c || '=' || coalesce(e.extra[c], '')))) = 0
"""

SELECTED_SESSIONS = """
CREATE OR REPLACE MACRO main.selected_sessions() AS TABLE
-- Sessions of selected episodes up to as_of, carrying the episode's attributes
-- so session metrics break down by site, program or cohort without another join.
SELECT
    s.session_id, s.episode_id, s.session_date, s.session_type, s.clinician,
    s.scheduled_minutes, s.attended_minutes, s.status,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.discharge_reason, e.extra
FROM main.sessions AS s
JOIN main.selected_episodes() AS e USING (episode_id)
WHERE s.session_date <= getvariable('as_of')
"""

# Why a macro: the attendance denominator ("expected" sessions) is every scheduled
# session but those the program called off. The headline counts, the breakdowns,
# the control charts, the funnels and the at-risk list all count it, so the rule
# is written here once; DuckDB inlines it, so it costs nothing.
EXPECTED_SESSION = """
CREATE OR REPLACE MACRO main.expected_session(status) AS status <> 'program_cancelled'
"""

# Why macros: the clinical outcome rules (which scores count, baseline and follow-up
# with their tie rules, the program week, the measurement windows, improvement and
# the clinical range) are read by the measures, the Outcomes page, the QI charts and
# the at-risk list (docs/metrics.md, "Clinical outcomes"); written once here, they
# cannot drift apart.
SELECTED_SCORES = """
CREATE OR REPLACE MACRO main.selected_scores() AS TABLE
-- Scores of selected episodes dated on or before as_of, carrying the episode's
-- attributes (discharge only when known by as_of), so outcome figures break down
-- by site, program or cohort without another join.
SELECT
    a.assessment_id, a.episode_id, a.assessment_date, a.instrument, a.score,
    e.patient_id, e.site, e.program, e.admit_date, e.discharge_date, e.extra, e.as_of
FROM main.assessments AS a
JOIN main.selected_episodes() AS e USING (episode_id)
WHERE a.assessment_date <= getvariable('as_of')
"""

MEASURE_INSTRUMENTS = """
CREATE OR REPLACE MACRO main.measure_instruments(definitions) AS TABLE
-- The instrument definitions in force, bound as one list of structs
-- (analytics.metrics.measures.bound_instruments), one row each; the cast types
-- every field, so an empty list or a threshold no instrument has still binds. A
-- threshold an instrument lacks is NULL, and every rule on it then reads NULL
-- (not counted). Response is held as integers (keep_num / keep_den = 1 - response
-- drop), so "at most half the baseline" compares exactly:
-- keep_den x follow-up <= keep_num x baseline.
SELECT d.*
FROM (
    SELECT unnest(CAST(definitions AS STRUCT(
        instrument VARCHAR, higher_is_better BOOLEAN, caseness INTEGER, reliable_change INTEGER,
        remission_below INTEGER, response_keep_num BIGINT, response_keep_den BIGINT, every_days INTEGER,
        programs VARCHAR[])[])) AS d
)
"""

SCORE_PAIRS = """
CREATE OR REPLACE MACRO main.score_pairs() AS TABLE
-- One row per instrument and selected episode with a score: the baseline (the
-- earliest date; a tie: the lowest assessment_id as text), the follow-up (the
-- latest date; a tie: the highest id), and whether they make a pair (scores on at
-- least two different dates; two scores on one day are not a pair).
SELECT
    instrument, episode_id,
    any_value(patient_id)                                    AS patient_id,
    any_value(site)                                          AS site,
    any_value(program)                                       AS program,
    any_value(admit_date)                                    AS admit_date,
    any_value(extra)                                         AS extra,
    min(assessment_date)                                     AS first_date,
    max(assessment_date)                                     AS last_date,
    baseline_score(score, assessment_date, assessment_id)    AS baseline,
    followup_score(score, assessment_date, assessment_id)    AS followup,
    makes_pair(assessment_date)                              AS is_pair
FROM main.selected_scores()
GROUP BY instrument, episode_id
"""

# Scalar rules; DuckDB inlines them, so they cost nothing.
OUTCOME_RULES: tuple[str, ...] = (
    # the tie rules: (date, id) compares the date first, then the id as text (byte order)
    "CREATE OR REPLACE MACRO main.baseline_score(score, on_date, id) AS arg_min(score, (on_date, id))",
    "CREATE OR REPLACE MACRO main.followup_score(score, on_date, id) AS arg_max(score, (on_date, id))",
    # a pair needs scores on at least two different dates (two on one day are not a pair)
    "CREATE OR REPLACE MACRO main.makes_pair(on_date) AS min(on_date) < max(on_date)",
    # improvement is a decrease when higher is worse, an increase when higher is better
    """CREATE OR REPLACE MACRO main.improvement(baseline, followup, higher_is_better) AS
        CASE WHEN higher_is_better THEN followup - baseline ELSE baseline - followup END""",
    # at or above caseness when higher is worse, at or below it when better (NULL without one)
    """CREATE OR REPLACE MACRO main.in_clinical_range(score, caseness, higher_is_better) AS
        CASE WHEN higher_is_better THEN score <= caseness ELSE score >= caseness END""",
    # program week 1 starts on the admission day; a score before admission is in week 1
    """CREATE OR REPLACE MACRO main.program_week(on_date, admit_date) AS
        greatest(on_date - admit_date, 0) // 7 + 1""",
    # window k covers admit + k*every .. admit + (k+1)*every - 1; window 0 also the 30
    # days before admission (intake screening); earlier: no window (NULL)
    """CREATE OR REPLACE MACRO main.measurement_window(on_date, admit_date, every_days) AS
        CASE WHEN on_date >= admit_date THEN (on_date - admit_date) // every_days
             WHEN on_date >= admit_date - 30 THEN 0 END""",
    # for measurement, an episode ends at its discharge when known by as_of, else at as_of
    "CREATE OR REPLACE MACRO main.measured_until(discharge_date, as_of) AS coalesce(discharge_date, as_of)",
    # windows 0 .. this one are due (an episode admitted on its end day has window 0 due)
    """CREATE OR REPLACE MACRO main.last_window_due(admit_date, end_date, every_days) AS
        CASE WHEN end_date >= admit_date THEN (end_date - admit_date) // every_days END""",
    # an instrument with no programs listed is used by every program
    """CREATE OR REPLACE MACRO main.uses_instrument(programs, program) AS
        len(programs) = 0 OR list_contains(programs, program)""",
)


def define(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SELECTED_EPISODES)
    con.execute(SELECTED_SESSIONS)
    con.execute(EXPECTED_SESSION)
    for rule in OUTCOME_RULES:
        con.execute(rule)
    con.execute(MEASURE_INSTRUMENTS)
    # A table macro binds its tables when created: a store from before assessments (opened
    # for the write that migrates it) has none until then, and the macros follow the migration.
    if _store_has_table(con, "assessments"):
        con.execute(SELECTED_SCORES)
        con.execute(SCORE_PAIRS)


def _store_has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the attached store holds the table (a view of a store attached before may outlive it)."""
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'store' AND table_name = $name",
        {"name": name}).fetchone()[0])

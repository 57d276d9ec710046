"""The table macros every analytics query starts from, and the rules they share.

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

# Why a macro: a score may be dated up to 30 days before admission (intake screening).
# The CSV import's date check and the FHIR import's search for a score's episode must
# agree on that first day, or one score could load by one route and be refused by the other.
ASSESSMENT_WINDOW_START = """
CREATE OR REPLACE MACRO main.assessment_window_start(admit_date) AS admit_date - 30
"""

# Why macros: a score is a whole number within its instrument's range whichever way it
# comes in (a CSV export or FHIR ndjson); both imports test these. The score arrives
# as DOUBLE so that 7.0004 is not rounded to a whole 7.
SCORE_RULES = ("""
CREATE OR REPLACE MACRO main.whole_score(score) AS isfinite(score) AND score = trunc(score)
""", """
CREATE OR REPLACE MACRO main.score_outside(score, score_min, score_max) AS score < score_min OR score > score_max
""")


# Scalar rules that read no table: they bind without a store attached, so an import's
# pass 1 (which runs before the store is attached) can use them.
RULES = (EXPECTED_SESSION, ASSESSMENT_WINDOW_START, *SCORE_RULES)


def define_rules(con: duckdb.DuckDBPyConnection) -> None:
    for macro in RULES:
        con.execute(macro)


def define(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SELECTED_EPISODES)
    con.execute(SELECTED_SESSIONS)
    define_rules(con)

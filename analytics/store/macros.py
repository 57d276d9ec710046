"""The table macros every analytics query starts from, and the one session rule they share.

selected_episodes() and selected_sessions() select what every metric counts;
selected_referrals() does the same for referrals (their own site, program and
columns); intake_episodes() adds to each selected episode its first contact, its
care days and its IET-style windows, for the access figures.

They live in the process's in-memory catalog (not TEMP), so every cursor sees
them, and they read per-cursor variables set by queries.bind_filters(), so
concurrent sessions with different filters never see each other's values.
"""
from __future__ import annotations

import duckdb

# The filters and the site scope, on a table (alias t) whose date column the as-of cut and
# the admission date filters bound: written once, so episodes and referrals are selected by
# the same rules (referrals by their own site, program, columns and first contact).
SELECTION_RULES = """{t}.{dated} <= getvariable('as_of')
  AND (getvariable('admitted_from') IS NULL OR {t}.{dated} >= getvariable('admitted_from'))
  AND (getvariable('admitted_to') IS NULL OR {t}.{dated} <= getvariable('admitted_to'))
  AND (len(getvariable('sites')) = 0 OR list_contains(getvariable('sites'), {t}.site))
  AND (len(getvariable('programs')) = 0 OR list_contains(getvariable('programs'), {t}.program))
  AND (getvariable('allowed_sites') IS NULL OR list_contains(getvariable('allowed_sites'), {t}.site))
  -- every filtered extra column must match one of the values given for it, a missing value
  -- counting as empty (with no such filter the first test settles it while planning, so
  -- `extra` is not read)
  AND (len(getvariable('extra_columns')) = 0 OR len(list_filter(getvariable('extra_columns'),
        c -> NOT list_contains(getvariable('extra_pairs'), c || '=' || coalesce({t}.extra[c], '')))) = 0)"""

# Why a macro: the episode selection (as_of cut, filters, site scope) must be
# identical in every metric; writing it once makes that true by construction.
SELECTED_EPISODES = """
CREATE OR REPLACE MACRO main.selected_episodes() AS TABLE
-- Episodes visible at as_of, narrowed by the user's filters and by the site scope.
-- A discharge after as_of is not known yet on that date, so it reads as active.
SELECT
    e.episode_id, e.patient_id, e.site, e.program, e.admit_date, e.planned_weeks, e.extra,
    {first_contact} AS first_contact_date,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_date END AS discharge_date,
    CASE WHEN e.discharge_date <= getvariable('as_of') THEN e.discharge_reason END AS discharge_reason,
    getvariable('as_of') AS as_of
FROM main.enrollments AS e
WHERE {selection}
  -- a filtered column no enrollment holds (only referrals do) selects no episode
  AND NOT coalesce(getvariable('extra_unheld'), false)
"""

# Why a macro: a referral must be selected the same way in every access figure, and a
# site lead must never see another site's referral, whichever query asks.
SELECTED_REFERRALS = """
CREATE OR REPLACE MACRO main.selected_referrals() AS TABLE
-- Referrals visible at as_of, selected by their OWN site, program, extra columns and first
-- contact (the admission date filters bound first_contact_date), narrowed by the site scope.
-- What was known on as_of: an admitted referral whose episode was admitted after as_of (or
-- is not in the store) was still pending, and an intake assessment after as_of not done yet.
SELECT
    r.referral_id, r.patient_id, r.site, r.program, r.first_contact_date,
    CASE WHEN r.intake_assessment_date <= getvariable('as_of') THEN r.intake_assessment_date END
        AS intake_assessment_date,
    CASE WHEN r.outcome = 'admitted' AND e.episode_id IS NULL THEN 'pending' ELSE r.outcome END AS outcome,
    -- the episode the referral led to by as_of, wherever it was admitted (a referral to one
    -- site may be admitted at another); its figures still count under the referral's site
    e.episode_id, e.admit_date AS episode_admit_date,
    r.extra,
    CAST(getvariable('as_of') AS DATE) AS as_of
FROM main.referrals AS r
LEFT JOIN (
    SELECT episode_id, admit_date FROM main.enrollments WHERE admit_date <= getvariable('as_of')
) AS e
    -- one equality, so DuckDB hashes it (a second condition in ON made a nested loop)
    ON e.episode_id = CASE WHEN r.outcome = 'admitted' THEN r.episode_id END
-- the episodes' rules on the referral's own site, program, columns and first contact (a
-- column no referral holds reads as '')
WHERE {selection}
"""

# Distinct attended days are kept as bits of 64-day calendar words: day n (days since
# 0001-01-01) is bit n % 64 of word n // 64, so two sessions on one day set one bit.
# Grouping the attended sessions by (episode, word) needs no join with the episodes, and
# each row costs a division and a shift, where joining every session to its episode to
# place it in the windows directly would carry each session's dates through the join
# (benchmarks/bench_metrics.py measures what the access figures add to the summary).
# window_days() takes the part of a word that falls in a window and moves it so that bit
# k is day k of the window. Every shift is kept in 0..63 whatever the inputs (DuckDB
# refuses any other), and a word outside the window gives 0.
WINDOW_DAYS = """
CREATE OR REPLACE MACRO main.window_days(days, word, first_day, length) AS
CASE WHEN first_day - word * 64 <= 63 AND first_day + length - 1 - word * 64 >= 0 THEN
    -- the word's bits from the window's first day (lo) to its last (hi) ...
    ((days & (~0::UBIGINT >> (63 - least(greatest(first_day + length - 1 - word * 64, 0), 63))::UBIGINT)
           & ~((1::UBIGINT << least(greatest(first_day - word * 64, 0), 63)::UBIGINT) - 1))
        -- ... moved up when the word starts after the window's first day, down when before
        << least(greatest(word * 64 - first_day, 0),
                 63 - least(greatest(first_day + length - 1 - word * 64, 0), 63))::UBIGINT)
        >> least(greatest(first_day - word * 64, 0), 63)::UBIGINT
ELSE 0::UBIGINT END
"""

# The lowest set bit's position (0..63) of a non-zero bit set; 0 for 0.
LOWEST_BIT = """
CREATE OR REPLACE MACRO main.lowest_bit(bits) AS
bit_count(xor(greatest(bits, 1::UBIGINT), greatest(bits, 1::UBIGINT) & (greatest(bits, 1::UBIGINT) - 1)) - 1)
"""

# Why a macro: the first contact, the care days of the first 28 days and the IET-style
# windows are shared by the access summary, its breakdowns, the control charts, the
# tiles and the at-risk list; written once, every figure counts them the same way.
# Initiation and engagement are IET-style (the program's own sessions only), never the
# HEDIS measure.
INTAKE_EPISODES = """
CREATE OR REPLACE MACRO main.intake_episodes() AS TABLE
-- One row per selected episode with what the access figures need.
-- NOT MATERIALIZED: each use reads only the columns it needs (a materialized copy would
-- carry every column, the extra MAP included, at 290,000 episodes costing more than
-- selecting them twice).
WITH dated AS NOT MATERIALIZED (
    -- first contact: the enrollment's own date, else the earliest first contact of the
    -- admitted referrals that name the episode, read from ALL referrals (no filter, no
    -- as-of cut): the request that led to an episode is part of its history. The
    -- IET-style index date is the first contact when known, else the admission.
    SELECT
        e.episode_id, e.patient_id, e.site, e.program, e.admit_date, e.extra,
        CAST(getvariable('as_of') AS DATE) AS as_of,
        coalesce(e.first_contact_date, r.first_contact_date) AS first_contact_date,
        coalesce(e.first_contact_date, r.first_contact_date, e.admit_date) AS index_date
    FROM main.selected_episodes() AS e
    LEFT JOIN (
        SELECT episode_id, min(first_contact_date) AS first_contact_date
        FROM main.referrals
        WHERE outcome = 'admitted' AND episode_id IS NOT NULL
        GROUP BY episode_id
    ) AS r USING (episode_id)
),
attended_words AS (
    -- the days with an attended session up to as_of, per episode and calendar word
    SELECT
        episode_id,
        (session_date - DATE '0001-01-01') // 64 AS word,
        bit_or(1::UBIGINT << ((session_date - DATE '0001-01-01') % 64)::UBIGINT) AS days,
        min(session_date) AS first_day
    FROM main.sessions
    WHERE status = 'attended' AND session_date <= getvariable('as_of')
    GROUP BY episode_id, word
),
care AS (
    -- per selected episode: its first attended day; its days 0..27 from the admission
    -- (bit k = admit + k); its days 0..47 from the index date (bit k = index + k), the
    -- longest IET-style window (initiation by index + 13, engagement up to initiation + 34)
    SELECT
        w.episode_id,
        min(w.first_day) AS first_attended,
        bit_or(window_days(w.days, w.word, i.admit_date - DATE '0001-01-01', 28)) AS care_bits,
        bit_or(window_days(w.days, w.word, i.index_date - DATE '0001-01-01', 48)) AS iet_bits
    FROM attended_words AS w
    JOIN dated AS i USING (episode_id)
    GROUP BY w.episode_id
),
initiation AS (
    SELECT i.*, c.first_attended, c.care_bits, c.iet_bits,
        -- initiation: the first attended day from the index date to index + 13 (bits 0..13)
        CASE WHEN c.iet_bits & 16383 > 0 THEN lowest_bit(c.iet_bits & 16383) END AS initiation_day
    FROM dated AS i
    LEFT JOIN care AS c USING (episode_id)
)
SELECT
    episode_id, patient_id, site, program, admit_date, extra, as_of, first_contact_date, index_date,
    first_attended,
    -- wait: first contact to the first attended session, in days (null when either is unknown)
    first_attended - first_contact_date AS wait_days,
    -- NIATx continuation: admissions followed for their whole first 28 days, and their
    -- days with an attended session in them (admit .. admit + 27)
    admit_date <= as_of - 28 AS continuation_eligible,
    coalesce(bit_count(care_bits), 0)::INTEGER AS care_days_28,
    -- IET-style: an index date followed for 47 days (13 to initiate, 34 more to engage)
    index_date <= as_of - 47 AS iet_eligible,
    index_date + initiation_day AS initiation_date,
    -- engagement: attended on at least two further days, from the day after initiation
    -- to initiation + 34 (bits initiation + 1 .. initiation + 34)
    coalesce(bit_count((iet_bits >> (initiation_day + 1)::UBIGINT) & ((1::UBIGINT << 34) - 1)) >= 2, false)
        AS engaged
FROM initiation
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


def define(con: duckdb.DuckDBPyConnection) -> None:
    # A macro binds its tables when it is created. A store from before schema version 2
    # has no referrals and no first_contact_date until its first write migrates it (and
    # nothing reads it before: a reader refuses it); the macros follow that migration.
    current = _has_columns(con, "enrollments", "first_contact_date") and _has_columns(con, "referrals", "outcome")
    con.execute(SELECTED_EPISODES.format(first_contact="e.first_contact_date" if current else "NULL::DATE",
                                         selection=SELECTION_RULES.format(t="e", dated="admit_date")))
    con.execute(SELECTED_SESSIONS)
    con.execute(EXPECTED_SESSION)
    if current:
        con.execute(SELECTED_REFERRALS.format(selection=SELECTION_RULES.format(t="r", dated="first_contact_date")))
        con.execute(WINDOW_DAYS)
        con.execute(LOWEST_BIT)
        con.execute(INTAKE_EPISODES)


def _has_columns(con: duckdb.DuckDBPyConnection, view: str, *columns: str) -> bool:
    """Whether the view main.<view> exists with these columns (names fixed in this module)."""
    found = con.execute(
        "SELECT list(column_name) FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = $view "
        "AND database_name = current_database()", {"view": view}).fetchone()[0] or []
    return set(columns) <= set(found)

-- Every attended session dated from the admission to `through` with its program week
-- (weeks 1 and up) and type, as a cell of the attended weeks (see attended_weeks_through).
-- Sessions before the admission have no program week and are left out. With
-- unsummarised_only, only the episodes the summaries do not hold yet (DuckLake).
-- Why a macro: the summary is these cells summed, and the reads fall back to the cells
-- themselves, so both paths count with one definition (see session_rows_through). The
-- week depends on the admission date, so the importer rebuilds an episode's weeks when
-- its enrollment changes too.
CREATE OR REPLACE MACRO main.attended_week_rows_through(through, unsummarised_only) AS TABLE
SELECT
    s.episode_id,
    program_week(s.session_date, e.admit_date)::INTEGER AS week_number,
    s.session_type,
    1::BIGINT AS sessions,
    s.attended_minutes::BIGINT AS attended_minutes
FROM main.sessions AS s
JOIN main.enrollments AS e ON e.episode_id = s.episode_id
WHERE s.status = 'attended'
  AND s.session_date >= e.admit_date
  AND s.session_date <= through
  AND (NOT unsummarised_only OR s.episode_id IN (SELECT episode_id FROM main.unsummarised_episodes))

-- What the summary table episode_attended_weeks holds: per episode, program week and
-- session type, the attended sessions dated on or before `through` and their attended
-- minutes: the cells of attended_week_rows_through summed.
CREATE OR REPLACE MACRO main.attended_weeks_through(through) AS TABLE
SELECT
    episode_id, week_number, session_type,
    sum(sessions)::BIGINT         AS sessions,
    sum(attended_minutes)::BIGINT AS attended_minutes
FROM main.attended_week_rows_through(through, false)
GROUP BY episode_id, week_number, session_type

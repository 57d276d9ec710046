-- What the summary table episode_session_counts holds: per episode, session type and
-- status, the sessions dated on or before `through`, how many were completed at the
-- completion share, their scheduled and attended minutes, and their first and last
-- dates: the cells of session_rows_through summed. The importer builds the summary with
-- it (through = the end of time).
CREATE OR REPLACE MACRO main.session_counts_through(through, completion_share) AS TABLE
SELECT
    episode_id, session_type, status,
    sum(sessions)::BIGINT          AS sessions,
    sum(completed)::BIGINT         AS completed,
    sum(scheduled_minutes)::BIGINT AS scheduled_minutes,
    sum(attended_minutes)::BIGINT  AS attended_minutes,
    min(first_date)                AS first_date,
    max(last_date)                 AS last_date
FROM main.session_rows_through(through, completion_share, false)
GROUP BY episode_id, session_type, status

-- The session counts of the selected sessions per session type (about five rows):
-- the one small table both the headline session counts (its sum over the types)
-- and the therapy mix (its minutes_attended per type) are taken from, so the
-- summary scans and joins the sessions once for both (session_summary.sql).
-- The columns are those of session_rates_by.sql, in the same order.
CREATE OR REPLACE MACRO main.session_counts_by_type(completion_share) AS TABLE
WITH cells AS (
    -- the summary's cells per status and type (a few dozen), so the count rules run on
    -- cells, not on sessions
    SELECT
        status, session_type,
        sum(sessions)          AS sessions,
        sum(completed)         AS completed,
        sum(scheduled_minutes) AS scheduled_minutes,
        sum(attended_minutes)  AS attended_minutes
    FROM main.session_counts(completion_share)
    GROUP BY status, session_type
)
SELECT
    session_type,
    unnest(session_attendance_counts(status, sessions)),
    unnest(session_delivery_counts(status, sessions, completed, scheduled_minutes, attended_minutes))
FROM cells
GROUP BY session_type

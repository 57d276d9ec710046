-- Therapy mix: each session type's share of attended minutes, for every type
-- with at least one attended session. Shares are of minutes, not of sessions,
-- because a 3-hour group and a 50-minute individual session are not equal dose.
WITH by_type AS (
    SELECT
        session_type,
        sum(attended_minutes)::BIGINT     AS attended_minutes,
        count(*)                          AS sessions,
        count(DISTINCT episode_id)        AS episodes,
        count(DISTINCT patient_id)        AS patients
    FROM main.selected_sessions()
    WHERE status = 'attended'
    GROUP BY session_type
)
SELECT
    session_type, attended_minutes, sessions, episodes, patients,
    attended_minutes / nullif(sum(attended_minutes) OVER (), 0) AS share
FROM by_type
ORDER BY session_type

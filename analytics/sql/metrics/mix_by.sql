-- The mix per value of a breakdown dimension (program, site, ...): each session
-- type's share of the attended minutes within that value. The dimension
-- expression comes from the fixed dict in analytics/metrics/breakdowns.py.
WITH by_value_type AS (
    SELECT
        /*dimension*/                     AS dimension_value,
        session_type,
        sum(attended_minutes)::BIGINT     AS attended_minutes,
        count(*)                          AS sessions,
        count(DISTINCT episode_id)        AS episodes,
        count(DISTINCT patient_id)        AS patients
    FROM main.selected_sessions()
    WHERE status = 'attended'
    GROUP BY ALL
)
SELECT
    dimension_value, session_type, attended_minutes, sessions, episodes, patients,
    attended_minutes / nullif(sum(attended_minutes) OVER (PARTITION BY dimension_value), 0) AS share
FROM by_value_type
ORDER BY dimension_value, session_type

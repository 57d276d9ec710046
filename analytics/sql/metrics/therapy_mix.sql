-- The therapy mix alone (docs/metrics.md, "Therapy mix"): each session type's
-- share of the attended minutes of the selected sessions, one row per type with
-- an attended session, in session-type order. The same ratio as the mix of
-- session_summary.sql, which metrics.summary() takes with the session counts from
-- one scan; alone, reading the attended cells only is cheaper.
WITH by_type AS (
    SELECT session_type, sum(attended_minutes)::BIGINT AS attended_minutes
    FROM main.session_counts($completion_share)
    WHERE status = 'attended'
    GROUP BY session_type
)
SELECT
    session_type,
    attended_minutes,
    attended_minutes / nullif(sum(attended_minutes) OVER (), 0) AS share
FROM by_type
ORDER BY session_type

-- The therapy mix alone (session type -> share of attended minutes), for the
-- headline figure: the same ratio as mix_overall.sql without its distinct
-- episode and patient counts, which cost more than the shares themselves.
SELECT
    session_type,
    sum(attended_minutes)::BIGINT AS attended_minutes,
    sum(attended_minutes) / nullif(sum(sum(attended_minutes)) OVER (), 0) AS share
FROM main.selected_sessions()
WHERE status = 'attended'
GROUP BY session_type
ORDER BY session_type

-- (continues session_cells.sql) The therapy mix alone (session type -> share of
-- attended minutes), for the headline figure: the same ratio as mix_overall.sql
-- without its distinct episode and patient counts, which cost more than the
-- shares themselves. Taken from the status x type cells, so the summary
-- computes it from the same scan as the session rates.
, mix_shares AS (
    SELECT
        session_type,
        sum(attended_minutes)::BIGINT AS attended_minutes,
        sum(attended_minutes) / nullif(sum(sum(attended_minutes)) OVER (), 0) AS share
    FROM session_cells
    WHERE status = 'attended'
    GROUP BY session_type
)

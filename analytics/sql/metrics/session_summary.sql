-- The headline session figures in one statement: the session counts (as in
-- session_rates.sql, without the distinct patients, which the summary does not
-- show) and the therapy mix as a list of {session_type, share} in session-type
-- order (empty when nothing was attended). Both come from the counts per session
-- type, so the sessions are scanned and joined to the episodes once for both.
WITH by_type AS MATERIALIZED (
    -- MATERIALIZED: read twice below, computed once
    FROM main.session_counts_by_type($completion_share)
),
counts AS (
    -- every count column summed over the session types (0 when nothing is selected)
    SELECT coalesce(sum(COLUMNS(* EXCLUDE session_type)), 0)::BIGINT
    FROM by_type
),
mix_shares AS (
    -- the therapy mix (docs/metrics.md): each type's share of the attended minutes,
    -- over the types with an attended session
    SELECT
        session_type,
        minutes_attended / nullif(sum(minutes_attended) OVER (), 0) AS share
    FROM by_type
    WHERE attended > 0
)
SELECT
    c.*,
    coalesce((SELECT list({'session_type': session_type, 'share': share} ORDER BY session_type)
              FROM mix_shares), []) AS mix
FROM counts AS c

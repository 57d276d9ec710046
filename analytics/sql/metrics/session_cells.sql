-- The selected sessions counted per status and session type (about 24 rows):
-- the one small table the session rates (session_counts.sql) and the therapy
-- mix (mix_shares.sql) are both taken from. This file is the head of a CTE
-- chain; sessions.py and mix.py append those pieces, and metrics.summary()
-- appends both, so the headline figures scan and join the sessions once.
-- Why DECIMAL for the completion share: 0.9 * scheduled must compare exactly
-- (54 of 60 minutes is completed), which binary floating point does not promise.
-- Why MATERIALIZED: the summary reads it twice; it must be computed once.
WITH session_cells AS MATERIALIZED (
    SELECT
        status,
        session_type,
        count(*)                                                               AS sessions,
        count(*) FILTER (WHERE attended_minutes
            >= $completion_share::DECIMAL(9, 6) * scheduled_minutes)           AS at_share,
        sum(scheduled_minutes)                                                 AS scheduled_minutes,
        sum(attended_minutes)                                                  AS attended_minutes
    FROM main.selected_sessions()
    GROUP BY status, session_type
)

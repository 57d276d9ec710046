-- (continues session_cells.sql, session_counts.sql and mix_shares.sql) The
-- headline session figures in one statement, so session_cells is computed once
-- for both: one row with the session counts and the mix as a list of
-- {session_type, share} in session-type order (empty when nothing was attended).
SELECT
    c.*,
    coalesce((SELECT list({'session_type': session_type, 'share': share} ORDER BY session_type)
              FROM mix_shares), []) AS mix
FROM session_counts AS c

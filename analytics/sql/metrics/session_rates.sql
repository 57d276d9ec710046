-- (continues session_cells.sql and session_counts.sql) The session counts with
-- the distinct patients behind them, for small-cell suppression. The headline
-- summary (session_summary.sql) leaves the distinct count out: it is not shown there.
, patients AS (
    -- distinct patients with a selected session: the same set as
    -- count(DISTINCT patient_id) over selected_sessions(), but the distinct
    -- count runs over episodes instead of every session
    SELECT count(DISTINCT patient_id) AS patients
    FROM main.selected_episodes()
    WHERE episode_id IN (
        SELECT episode_id FROM main.sessions WHERE session_date <= getvariable('as_of')
    )
)
SELECT c.*, (SELECT patients FROM patients) AS patients
FROM session_counts AS c

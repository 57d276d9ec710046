-- Selected episodes by wait (first contact to first attended session), in bins whose
-- lower edges are bound as $edges (ascending, the first one below any wait); bin i holds
-- the waits from edge i to the next edge - 1. The waits stay in DuckDB.
SELECT
    len(list_filter($edges::INTEGER[], edge -> edge <= wait_days))  AS bin,
    count(*)                                                       AS episodes,
    count(DISTINCT patient_id)                                     AS patients
FROM main.intake_episodes()
WHERE wait_days IS NOT NULL
GROUP BY bin
ORDER BY bin

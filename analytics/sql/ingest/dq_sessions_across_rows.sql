-- Problems of session rows that only show across rows or against the store:
-- a session id repeated with different content, an episode the store does not
-- know, a session dated outside its episode. Enrollments of the same command were
-- applied first, so they count as known. One row per record index. The date is
-- shown as read, in the profile's (first) date format.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
WITH duplicate AS (
    -- dq_duplicate_problems.sql
    SELECT idx, problem FROM ingest_duplicate_problems
),
episode AS (
    -- rows whose own values passed enough checks to be compared with their episode
    SELECT
        r.idx,
        CASE
            WHEN e.episode_id IS NULL THEN
                main.unknown_episode(r.episode_id)
            ELSE
                {'column': 'session_date', 'raw_value': strftime(r.session_date, $date_format),
                 'reason': 'session outside its episode''s dates (admitted ' || strftime(e.admit_date, '%Y-%m-%d')
                           || coalesce(', discharged ' || strftime(e.discharge_date, '%Y-%m-%d'), ', still active') || ')'}
        END AS problem
    FROM ingest_rows AS r
    -- enrollments: the current version of each episode (latest wins on DuckLake); named
    -- unqualified so that, right after a migration, the writer's TEMP view is the one read
    LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
    WHERE r.episode_id IS NOT NULL
      AND (e.episode_id IS NULL
           OR r.session_date < e.admit_date
           OR r.session_date > e.discharge_date)
)
SELECT idx, list(problem ORDER BY problem.column) AS problems
FROM (SELECT * FROM duplicate UNION ALL SELECT * FROM episode)
GROUP BY idx

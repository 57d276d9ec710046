-- Problems of assessment rows that only show across rows or against the store: an
-- assessment id repeated with different content, an episode the store does not know,
-- a score dated more than 30 days before its episode's admission (intake screening may
-- come that much earlier) or after its discharge. Enrollments of the same command were
-- applied first, so they count as known. One row per record index. The date is shown
-- as read, in the profile's (first) date format.
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
            WHEN r.assessment_date < main.assessment_window_start(e.admit_date) THEN
                {'column': 'assessment_date', 'raw_value': strftime(r.assessment_date, $date_format),
                 'reason': 'assessment more than 30 days before its episode''s admission (admitted '
                           || strftime(e.admit_date, '%Y-%m-%d') || ')'}
            ELSE
                {'column': 'assessment_date', 'raw_value': strftime(r.assessment_date, $date_format),
                 'reason': 'assessment after its episode''s discharge (discharged '
                           || strftime(e.discharge_date, '%Y-%m-%d') || ')'}
        END AS problem
    FROM ingest_rows AS r
    -- enrollments: the current version of each episode (latest wins on DuckLake); named
    -- unqualified so that, right after a migration, the writer's TEMP view is the one read
    LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
    WHERE r.episode_id IS NOT NULL
      AND (e.episode_id IS NULL
           OR r.assessment_date < main.assessment_window_start(e.admit_date)
           OR r.assessment_date > e.discharge_date)
)
SELECT idx, list(problem ORDER BY problem.column) AS problems
FROM (SELECT * FROM duplicate UNION ALL SELECT * FROM episode)
GROUP BY idx

-- Problems of session rows that only show against the store: an episode the store does
-- not know, a session dated outside its episode. Enrollments of the same command were
-- applied first, so they count as known; enrollments is the current version of each
-- episode (latest wins on DuckLake), named unqualified so that, right after a
-- migration, the writer's TEMP view is the one read. One row per problem.
CREATE OR REPLACE TEMP TABLE ingest_kind_problems AS
SELECT
    r.idx,
    main.episode_problem(e.episode_id, r.episode_id, main.date_as_read(
        'session_date', r.session_date, $date_format,
        'session outside its episode''s dates (admitted ' || strftime(e.admit_date, '%Y-%m-%d')
        || coalesce(', discharged ' || strftime(e.discharge_date, '%Y-%m-%d'), ', still active') || ')')) AS problem
-- only rows whose own values passed enough checks to be compared with their episode
FROM ingest_rows AS r
LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
WHERE r.episode_id IS NOT NULL
  AND (e.episode_id IS NULL
       OR r.session_date < e.admit_date
       OR r.session_date > e.discharge_date)

-- Problems of assessment rows that only show against the store: an episode the store
-- does not know, a score dated more than 30 days before its episode's admission (intake
-- screening may come that much earlier) or after its discharge. Enrollments of the same
-- command were applied first, so they count as known; enrollments is the current
-- version of each episode (latest wins on DuckLake), named unqualified so that, right
-- after a migration, the writer's TEMP view is the one read. One row per problem.
CREATE OR REPLACE TEMP TABLE ingest_kind_problems AS
SELECT
    r.idx,
    main.episode_problem(e.episode_id, r.episode_id, main.date_as_read(
        'assessment_date', r.assessment_date, $date_format,
        CASE WHEN r.assessment_date < main.assessment_window_start(e.admit_date)
             THEN 'assessment more than 30 days before its episode''s admission (admitted '
                  || strftime(e.admit_date, '%Y-%m-%d') || ')'
             ELSE 'assessment after its episode''s discharge (discharged '
                  || strftime(e.discharge_date, '%Y-%m-%d') || ')' END)) AS problem
-- only rows whose own values passed enough checks to be compared with their episode
FROM ingest_rows AS r
LEFT JOIN enrollments AS e ON e.episode_id = r.episode_id
WHERE r.episode_id IS NOT NULL
  AND (e.episode_id IS NULL
       OR r.assessment_date < main.assessment_window_start(e.admit_date)
       OR r.assessment_date > e.discharge_date)

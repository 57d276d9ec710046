-- Every complete episode-week listed once, with its attended minutes (0 when
-- none), for the queries that need a week's own date or its episode: the monthly
-- XmR chart (spc_median_hours.sql) and the histogram's distinct episodes
-- (dose_hours_histogram.sql). The dose figures themselves (dose_stats.sql) count
-- the weeks instead of listing them.
CREATE OR REPLACE MACRO main.complete_episode_weeks(target_programs, target_hours) AS TABLE
WITH weeks AS (
    SELECT episode_id, patient_id, program, admit_date, target_minutes,
        unnest(range(1, complete_weeks + 1)) AS week_number
    FROM main.dose_episodes(target_programs, target_hours)
    WHERE complete_weeks > 0
)
SELECT w.*, coalesce(m.minutes, 0) AS minutes
FROM weeks AS w
LEFT JOIN main.complete_week_minutes() AS m USING (episode_id, week_number)

-- Headline dose figures over all complete episode-weeks. The median is taken
-- on minutes (integers, so DuckDB's median averages the two middle values of an
-- even count exactly) and converted to hours after.
SELECT
    count(*)                              AS episode_weeks,
    count(DISTINCT episode_id)            AS episodes,
    count(DISTINCT patient_id)            AS patients,
    median(minutes) / 60.0                AS median_weekly_hours,
    avg(CASE WHEN met THEN 1.0 ELSE 0.0 END) AS dose_target_met_rate
FROM episode_weeks

-- Dose through the program: complete episode-weeks of program week 1..12, the
-- share meeting their program's target and the median hours. Later weeks hold
-- few episodes and are left to the summary figures.
SELECT
    week_number,
    count(*)                              AS episode_weeks,
    count(DISTINCT patient_id)            AS patients,
    avg(CASE WHEN met THEN 1.0 ELSE 0.0 END) AS dose_target_met_rate,
    median(minutes) / 60.0                AS median_weekly_hours,
    avg(minutes) / 60.0                   AS mean_weekly_hours
FROM episode_weeks
WHERE week_number <= 12
GROUP BY week_number
ORDER BY week_number

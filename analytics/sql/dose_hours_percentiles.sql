-- Percentiles of weekly hours per program (continuous quantiles, so the 50th
-- is the usual median), to print beside the histogram.
SELECT
    program,
    any_value(target_hours)               AS target_hours,
    count(*)                              AS episode_weeks,
    count(DISTINCT episode_id)            AS episodes,
    count(DISTINCT patient_id)            AS patients,
    quantile_cont(minutes, 0.10) / 60.0   AS p10_hours,
    quantile_cont(minutes, 0.25) / 60.0   AS p25_hours,
    median(minutes) / 60.0                AS median_hours,
    quantile_cont(minutes, 0.75) / 60.0   AS p75_hours,
    quantile_cont(minutes, 0.90) / 60.0   AS p90_hours,
    avg(minutes) / 60.0                   AS mean_hours,
    avg(CASE WHEN met THEN 1.0 ELSE 0.0 END) AS dose_target_met_rate
FROM episode_weeks
GROUP BY program
ORDER BY program

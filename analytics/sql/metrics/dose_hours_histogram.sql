-- Weekly hours binned by half an hour, per program: the chart's data without
-- sending a million episode-weeks to Python. Bin [h, h + 0.5) holds weeks with
-- 60h <= minutes < 60h + 30. Unlike dose_stats.sql this reads the complete weeks
-- one row per episode-week (complete_episode_weeks(), inside DuckDB), because each
-- bin needs its distinct episodes and patients for small-cell suppression.
SELECT
    program,
    (minutes // 30) * 0.5                   AS hours_from,
    (minutes // 30) * 0.5 + 0.5             AS hours_to,
    any_value(target_minutes) / 60          AS target_hours,
    -- targets are whole half-hours by default, so a bin is all met or all not
    bool_and(minutes >= target_minutes)     AS met,
    count(*) FILTER (WHERE minutes >= target_minutes) AS met_weeks,
    count(*)                                AS episode_weeks,
    count(DISTINCT episode_id)              AS episodes,
    count(DISTINCT patient_id)              AS patients
FROM main.complete_episode_weeks($target_programs, $target_hours)
GROUP BY program, minutes // 30
ORDER BY program, hours_from

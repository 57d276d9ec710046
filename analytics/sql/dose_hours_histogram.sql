-- Weekly hours binned by half an hour, per program: the chart's data without
-- sending millions of episode-weeks to Python. Bin [h, h + 0.5) holds weeks with
-- 60h <= minutes < 60h + 30; targets are whole half-hours, so a bin is either
-- all at/above the target or all below it.
SELECT
    program,
    (minutes // 30) * 0.5                 AS hours_from,
    (minutes // 30) * 0.5 + 0.5           AS hours_to,
    any_value(target_hours)               AS target_hours,
    bool_and(met)                         AS met,  -- the whole bin meets its target
    count(*) FILTER (WHERE met)           AS met_weeks,
    count(*)                              AS episode_weeks,
    count(DISTINCT episode_id)            AS episodes,
    count(DISTINCT patient_id)            AS patients
FROM episode_weeks
GROUP BY program, minutes // 30
ORDER BY program, hours_from

-- (continues episode_weeks.sql, grouped by program) Weekly hours binned by half
-- an hour, per program: the chart's data without sending millions of
-- episode-weeks to Python. Bin [h, h + 0.5) holds weeks with 60h <= minutes < 60h + 30.
SELECT
    grp                                     AS program,
    (minutes // 30) * 0.5                   AS hours_from,
    (minutes // 30) * 0.5 + 0.5             AS hours_to,
    any_value(target_minutes) / 60          AS target_hours,
    -- targets are whole half-hours by default, so a bin is all met or all not
    bool_and(minutes >= target_minutes)     AS met,
    coalesce(sum(weeks) FILTER (WHERE minutes >= target_minutes), 0)::BIGINT AS met_weeks,
    sum(weeks)::BIGINT                      AS episode_weeks
FROM week_counts
GROUP BY grp, minutes // 30
ORDER BY program, hours_from

-- (continues episode_weeks.sql) Median weekly hours per calendar month, for the
-- XmR chart. The week rules (which weeks are complete, their attended minutes)
-- come from episode_weeks.sql's `episodes` and `week_minutes`, so they live in
-- one place. A week belongs to the month of its last day, which depends on the
-- episode's admit date, so here the complete weeks are listed one row per
-- episode-week (week_counts groups them by episode attributes only). Only
-- complete months are charted.
, dated_weeks AS (
    SELECT
        e.patient_id,
        CAST(date_trunc('month', e.admit_date + CAST(7 * k.week_number - 1 AS INTEGER)) AS DATE) AS period,
        coalesce(m.minutes, 0) AS minutes,
        coalesce(m.minutes, 0) >= e.target_minutes AS met
    FROM (
        SELECT ep, unnest(range(1, complete_weeks + 1)) AS week_number
        FROM episodes
        WHERE complete_weeks > 0
    ) AS k
    JOIN episodes AS e USING (ep)
    LEFT JOIN week_minutes AS m USING (ep, week_number)
)
SELECT
    period,
    median(minutes) / 60.0          AS median_weekly_hours,
    count(*)                        AS episode_weeks,
    count(*) FILTER (WHERE met)     AS met_weeks,
    count(DISTINCT patient_id)      AS patients
FROM dated_weeks
WHERE CAST(period + INTERVAL 1 MONTH AS DATE) - 1 <= getvariable('as_of')
GROUP BY period
ORDER BY period

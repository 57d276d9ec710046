-- (continues episode_weeks.sql) Median weekly hours per calendar month, for the
-- XmR chart. The week rules (which weeks are complete, their attended minutes)
-- come from episode_weeks.sql, so they live in one place. A week belongs to the
-- month of its last day, which depends on the episode's admit date, so this reads
-- the weeks one row each (`complete_week_rows`; week_counts groups them by episode
-- attributes only). Only complete months are charted.
, dated_weeks AS (
    SELECT
        patient_id,
        CAST(date_trunc('month', admit_date + CAST(7 * week_number - 1 AS INTEGER)) AS DATE) AS period,
        minutes,
        minutes >= target_minutes AS met
    FROM complete_week_rows
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

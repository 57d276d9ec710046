-- Median weekly hours per calendar month, for the XmR chart. The weeks and their
-- attended minutes are the dose's (complete_episode_weeks(), macros), so the week
-- rules live in one place. A week belongs to the month of its last day, which
-- depends on the episode's admit date, so this reads the weeks one row each.
-- Only complete months are charted (period_ended()).
WITH dated_weeks AS (
    SELECT
        patient_id,
        CAST(date_trunc('month', admit_date + CAST(7 * week_number - 1 AS INTEGER)) AS DATE) AS period,
        minutes,
        minutes >= target_minutes AS met
    FROM main.complete_episode_weeks($target_programs, $target_hours)
)
SELECT
    period,
    median(minutes) / 60.0          AS median_weekly_hours,
    count(*)                        AS episode_weeks,
    count(*) FILTER (WHERE met)     AS met_weeks,
    count(DISTINCT patient_id)      AS patients
FROM dated_weeks
WHERE period_ended(period, 'month', getvariable('as_of'))
GROUP BY period
ORDER BY period

-- Retention at week 4 by admission month, as a plain proportion per cohort.
-- Only cohorts whose whole month lies at least 28 days before as_of, so every
-- episode in a point has been followed for its first 28 days (admit_date ..
-- admit_date + 27) and nobody is censored: an episode still active, or ended
-- by a planned discharge (completed, transferred, ...), counts as retained; only
-- an unplanned discharge (dropped_out, terminated) within those days does not.
WITH cohorts AS (
    SELECT
        CAST(date_trunc('month', admit_date) AS DATE) AS period,
        patient_id,
        NOT coalesce(
            list_contains($unplanned::VARCHAR[], discharge_reason)
            AND discharge_date < admit_date + 28,
            false) AS retained
    FROM main.selected_episodes()
)
SELECT
    period,
    count(*) FILTER (WHERE retained) AS retained,
    count(*)                         AS admitted,
    count(DISTINCT patient_id)       AS patients
FROM cohorts
WHERE CAST(period + INTERVAL 1 MONTH AS DATE) - 1 <= getvariable('as_of') - 28
GROUP BY period
ORDER BY period

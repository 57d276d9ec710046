-- Retention at week 4 by admission month, as a plain proportion per cohort.
-- Only cohorts whose whole month lies at least 28 days before as_of, so every
-- episode in a point has been followed for 28 days and nobody is censored
-- before day 28: the Aalen-Johansen retention of docs/metrics.md, 1 -
-- CIF_unplanned(28), is then exactly this plain proportion. An unplanned
-- discharge (dropped_out, terminated) with discharge_date - admit_date <= 28
-- is not retained; an episode still active, or ended by a planned discharge
-- (completed, transferred, ...), is.
WITH cohorts AS (
    SELECT
        CAST(date_trunc('month', admit_date) AS DATE) AS period,
        patient_id,
        NOT coalesce(
            list_contains($unplanned::VARCHAR[], discharge_reason)
            AND discharge_date - admit_date <= 28,
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

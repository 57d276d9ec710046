-- Retention at week 4 by admission month, as a plain proportion per cohort
-- (retention_at_week(): macros). Only cohorts whose whole month ended at least 28
-- days (4 weeks) before as_of, so every episode in a point has been followed for
-- 28 days and nobody is censored before day 28: the Aalen-Johansen retention of
-- docs/metrics.md, 1 - CIF_unplanned(28), is then exactly this plain proportion.
WITH cohorts AS (
    SELECT
        CAST(date_trunc('month', admit_date) AS DATE) AS period,
        patient_id,
        retained
    FROM main.retention_at_week(4, $unplanned)
)
SELECT
    period,
    count(*) FILTER (WHERE retained) AS retained,
    count(*)                         AS admitted,
    count(DISTINCT patient_id)       AS patients
FROM cohorts
WHERE period_ended(period, 'month', getvariable('as_of') - 28)
GROUP BY period
ORDER BY period

-- IET-style engagement (not the HEDIS measure) by month of the index date, for the
-- p-chart: engaged / eligible episodes. Only months whose last day is at least 47 days
-- before as_of, so every episode in a point has had both windows (13 days to initiate,
-- 34 more to engage).
SELECT
    CAST(date_trunc('month', index_date) AS DATE)  AS period,
    count(*) FILTER (WHERE engaged)                AS engaged,
    count(*)                                       AS eligible,
    count(DISTINCT patient_id)                     AS patients
FROM main.intake_episodes()
GROUP BY period
HAVING CAST(period + INTERVAL 1 MONTH AS DATE) - 1 <= getvariable('as_of') - 47
ORDER BY period

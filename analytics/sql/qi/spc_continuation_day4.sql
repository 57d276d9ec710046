-- NIATx continuation to the fourth day of care by admission month, for the p-chart: of
-- the month's admissions, those with attended sessions on at least 4 distinct days in
-- their first 28. Only months whose last day is at least 28 days before as_of, so every
-- admission in a point has had its whole first 28 days.
SELECT
    CAST(date_trunc('month', admit_date) AS DATE)  AS period,
    count(*) FILTER (WHERE care_days_28 >= 4)      AS continued,
    count(*)                                       AS admitted,
    count(DISTINCT patient_id)                     AS patients
FROM main.intake_episodes()
GROUP BY period
HAVING CAST(period + INTERVAL 1 MONTH AS DATE) - 1 <= getvariable('as_of') - 28
ORDER BY period

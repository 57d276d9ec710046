-- The wait by month of first contact: the episodes whose wait is known, its median and
-- quartiles (linear interpolation). A recent month still lacks its longer waits: those
-- people have not started yet.
SELECT
    strftime(first_contact_date, '%Y-%m')       AS month,
    count(*)                                    AS episodes,
    count(DISTINCT patient_id)                  AS patients,
    median(wait_days)                           AS median_wait_days,
    quantile_cont(wait_days, 0.25)              AS q1_wait_days,
    quantile_cont(wait_days, 0.75)              AS q3_wait_days
FROM main.intake_episodes()
WHERE wait_days IS NOT NULL
GROUP BY month
ORDER BY month

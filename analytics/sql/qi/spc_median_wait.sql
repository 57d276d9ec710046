-- The median wait (first contact to first attended session, in days) by month of first
-- contact, for the XmR chart. A month is charted once its last day is at least 28 days
-- before as_of: until then the people who called late in the month and start after a
-- long wait are not episodes yet, and the month's median would read short (a false signal).
SELECT
    CAST(date_trunc('month', first_contact_date) AS DATE)  AS period,
    median(wait_days)                                      AS median_wait_days,
    count(*)                                               AS episodes,
    count(DISTINCT patient_id)                             AS patients
FROM main.intake_episodes()
WHERE wait_days IS NOT NULL
GROUP BY period
HAVING CAST(period + INTERVAL 1 MONTH AS DATE) - 1 <= getvariable('as_of') - 28
ORDER BY period

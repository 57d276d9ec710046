-- Selected referrals per month of first contact and outcome as known on as_of (recent
-- months hold many pending requests), with each month's total and distinct patients
-- (the total row of a month has outcome NULL).
SELECT
    strftime(first_contact_date, '%Y-%m')   AS month,
    outcome,
    count(*)                                AS referrals,
    count(DISTINCT patient_id)              AS patients
FROM main.selected_referrals()
GROUP BY GROUPING SETS ((month, outcome), (month))
ORDER BY month, outcome NULLS FIRST

-- NIATx continuation per value of a breakdown dimension (the expression spliced in at
-- the placeholder comes from analytics/metrics/breakdowns.py): the eligible episodes
-- (admitted on or before as_of - 28) and those with 1, 2, 3 and 4 days of care in their
-- first 28 days.
SELECT
    /*dimension*/                                 AS dimension_value,
    count(*)                                      AS eligible,
    count(*) FILTER (WHERE care_days_28 >= 1)     AS continued_1,
    count(*) FILTER (WHERE care_days_28 >= 2)     AS continued_2,
    count(*) FILTER (WHERE care_days_28 >= 3)     AS continued_3,
    count(*) FILTER (WHERE care_days_28 >= 4)     AS continued_4,
    count(DISTINCT patient_id)                    AS patients
FROM main.intake_episodes()
WHERE continuation_eligible
GROUP BY dimension_value
ORDER BY dimension_value

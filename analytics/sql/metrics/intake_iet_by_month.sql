-- IET-style initiation and engagement (not the HEDIS measure) by month of the index
-- date (the first contact, else the admission), over the eligible episodes: index date
-- on or before as_of - 47, so both windows are over.
SELECT
    strftime(index_date, '%Y-%m')                               AS month,
    count(*)                                                    AS eligible,
    count(*) FILTER (WHERE initiation_date IS NOT NULL)         AS initiated,
    count(*) FILTER (WHERE engaged)                             AS engaged,
    count(DISTINCT patient_id)                                  AS patients
FROM main.intake_episodes()
WHERE iet_eligible
GROUP BY month
ORDER BY month

-- Which of the filtered extra columns some enrollment holds. A COLUMN=VALUE filter on a
-- column that only referrals hold selects no episode (bind_filters sets extra_unheld),
-- so this reads the whole store: the answer must not depend on the user's scope.
SELECT DISTINCT k AS column_name
FROM (SELECT unnest(map_keys(extra)) AS k FROM main.enrollments)
WHERE list_contains($columns::VARCHAR[], k)
ORDER BY column_name

-- The data cutoff: the latest date of any kind in the whole store (not the
-- filtered view), so every page and filter shares one "data as of" date.
SELECT max(d) AS as_of
FROM (
    SELECT max(admit_date) AS d FROM main.enrollments
    UNION ALL SELECT max(discharge_date) FROM main.enrollments
    UNION ALL SELECT max(session_date) FROM main.sessions
)

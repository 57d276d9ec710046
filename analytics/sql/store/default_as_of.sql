-- The data cutoff: the latest date of any kind in the whole store (not the
-- filtered view), so every page and filter shares one "data as of" date.
-- One scan per table: on DuckLake every scan reads Parquet files, and greatest()
-- skips the NULL discharge dates of active episodes.
SELECT max(d) AS as_of
FROM (
    SELECT greatest(max(admit_date), max(discharge_date)) AS d FROM main.enrollments
    UNION ALL SELECT max(session_date) FROM main.sessions
)

-- Problems of FHIR Observation rows that only show across rows or against the store: an
-- id repeated with different content, and a patient or date that gives no single
-- episode (ingest_assessments_fhir_episodes.sql). One row per record index.
CREATE OR REPLACE TEMP TABLE ingest_file_problems AS
WITH duplicate AS (
    -- dq_duplicate_problems.sql
    SELECT idx, problem FROM ingest_duplicate_problems
),
episode AS (
    SELECT idx, problem
    FROM ingest_fhir_episodes
    WHERE problem IS NOT NULL
)
SELECT idx, list(problem ORDER BY problem.column) AS problems
FROM (SELECT * FROM duplicate UNION ALL SELECT * FROM episode)
GROUP BY idx

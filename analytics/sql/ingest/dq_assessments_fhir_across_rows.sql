-- Problems of FHIR Observation rows that only show against the store: a patient or date
-- that gives no single episode (ingest_assessments_fhir_episodes.sql). One row per
-- problem.
CREATE OR REPLACE TEMP TABLE ingest_kind_problems AS
SELECT idx, problem
FROM ingest_fhir_episodes
WHERE problem IS NOT NULL

-- The ids a FHIR file retracts (status entered-in-error): their stored assessments are
-- removed, whatever else the file holds for the same id.
CREATE OR REPLACE TEMP TABLE ingest_fhir_retracted AS
SELECT DISTINCT record_id
FROM ingest_rows
WHERE retracted

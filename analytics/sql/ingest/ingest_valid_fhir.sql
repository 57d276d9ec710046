-- The Observations of a FHIR file to apply: no problem of their own (pass 1), not
-- excluded by a check across rows, with the one episode that holds their date.
-- Skipped resources (other types) have no episode row, so they drop out here.
CREATE OR REPLACE TEMP VIEW ingest_valid AS
SELECT r.* REPLACE (m.episode_id AS episode_id)
FROM ingest_rows AS r
JOIN ingest_fhir_episodes AS m USING (idx)
ANTI JOIN ingest_excluded AS x USING (idx)
WHERE r.problems IS NULL AND m.episode_id IS NOT NULL

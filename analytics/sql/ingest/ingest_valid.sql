-- The records to apply: no problem of their own (pass 1) and not excluded by a
-- check across rows; for an id repeated with identical content, its first copy.
CREATE OR REPLACE TEMP VIEW ingest_valid AS
SELECT r.*
FROM ingest_rows AS r
ANTI JOIN ingest_excluded AS x USING (idx)
WHERE r.problems IS NULL
